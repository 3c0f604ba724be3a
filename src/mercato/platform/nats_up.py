"""NATS under ``mercato up``: one server (``nats``, as always) or, with ``--nats-cluster N``,
a JetStream cluster of N servers (``nats-1`` ... ``nats-N``), each supervised — and
restarted when it dies — like any other child.

A cluster's nodes each get a free client port and a free route port (never 4222), a
store dir of their own under ``<data dir>/nats-cluster/node-<i>/`` and the same routes;
the routes log in with a password made for this run (and, with mTLS, show the NATS
server's certificate). The platform's NATS URL is then the comma list of every node's
URL, which each client passes whole to ``nats.connect`` (``nats_servers``).

Streams can only be created once the cluster has elected a JetStream meta leader and
knows its peers: ``wait_jetstream`` polls ``$JS.API.INFO`` until it answers, and
``retrying`` repeats the stream set-up while JetStream says it is not ready yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

import nats
import nats.errors
from nats.aio.client import Client as Nats

from mercato.chassis.messaging.servers import nats_servers
from mercato.chassis.messaging.streams import DUPLICATE_WINDOW
from mercato.chassis.tls import TlsFiles
from mercato.platform.nats_server import STANDARD_PORT, Cluster, free_port, nats_command
from mercato.platform.supervisor import ProcessSpec, Supervisor
from mercato.platform.workload_keys import set_up_streams

NATS = "nats"  # the lone server's child; a cluster's are nats-1 ... nats-N
MAX_NODES = 9
T = TypeVar("T")


def new_cluster(nodes: int) -> Cluster:
    """Two distinct free ports per node and a fresh route password."""
    taken: set[int] = {STANDARD_PORT}
    ports = []
    for _ in range(nodes):
        client = free_port(avoid=frozenset(taken))
        taken.add(client)
        route = free_port(avoid=frozenset(taken))
        taken.add(route)
        ports.append((client, route))
    return Cluster(tuple(ports), secrets.token_hex(16))


def nats_specs(nodes: int, data_dir: Path, env: dict[str, str], logs: Path,
               users: Mapping[str, tuple[str, dict]], tls: TlsFiles | None
               ) -> tuple[str, list[tuple[ProcessSpec, int]]]:
    """The NATS URL (a comma list for a cluster) and each server's spec and client port."""
    if not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"a NATS cluster of {nodes}: choose 1 to {MAX_NODES} nodes")
    if nodes == 1:
        port = int(os.environ.get("MERCATO_NATS_PORT") or free_port())
        spec = ProcessSpec(NATS, nats_command(port, data_dir / "nats", users=users, tls=tls),
                           env, logs / "nats.log")
        return f"nats://127.0.0.1:{port}", [(spec, port)]
    cluster = new_cluster(nodes)
    specs = []
    for node, (port, _) in enumerate(cluster.ports, start=1):
        store = data_dir / "nats-cluster" / f"node-{node}"
        specs.append((ProcessSpec(f"{NATS}-{node}",
                                  nats_command(port, store, users=users, tls=tls,
                                               cluster=cluster, node=node),
                                  env, logs / f"nats-{node}.log"), port))
    return ",".join(f"nats://127.0.0.1:{port}" for _, port in specs), specs


def nats_children(names) -> list[str]:
    """The NATS servers among the supervisor's children."""
    return [n for n in names if n == NATS or (n.startswith(f"{NATS}-") and n[5:].isdigit())]


async def wait_tcp(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"NATS did not listen on port {port} within {timeout:.0f}s")


async def retrying(make: Callable[[], Awaitable[T]], timeout: float, what: str) -> T:
    """``make()``, repeated while JetStream answers that it is not ready (no meta leader
    yet, not enough peers for the replicas) or not at all, for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await make()
        except (nats.errors.Error, TimeoutError) as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what}: JetStream was not ready within {timeout:.0f}s "
                                   f"({exc or type(exc).__name__})") from None
        await asyncio.sleep(0.25)


async def wait_jetstream(nc: Nats, timeout: float) -> None:
    """Until JetStream answers ``$JS.API.INFO`` — on a cluster, once a meta leader is
    elected (asked every second: a request sent before then goes unanswered)."""
    await retrying(nc.jetstream(timeout=1.0).account_info, timeout,
                   "a JetStream meta leader")


def described(nodes: int, copies: int, data_dir: Path) -> str:
    """What ``mercato up`` says of the NATS it starts."""
    if nodes == 1:
        return f"data in {data_dir / 'nats'}"
    return (f"a cluster of {nodes}, {copies} copies of each stream; data in "
            f"{data_dir / 'nats-cluster'}")


async def start_servers(sup: Supervisor, servers: list[tuple[ProcessSpec, int]], url: str,
                        **options) -> Nats:
    """Start every server, wait until each listens, and connect to them all (``options``:
    the ``nats.connect`` login); the connection then follows whichever node answers."""
    for spec, _port in servers:
        await sup.start(spec)
    for _spec, port in servers:
        await wait_tcp(port, 15)
    return await nats.connect(nats_servers(url), max_reconnect_attempts=-1, **options)


async def set_up_jetstream(nc: Nats, registry_ttl: float, replicas: int,
                           timeout: float = 30.0,
                           duplicate_window: float = DUPLICATE_WINDOW) -> None:
    """Once JetStream answers, every stream and bucket (``set_up_streams``) with
    ``replicas`` copies."""
    await wait_jetstream(nc, timeout)
    js = nc.jetstream()
    await retrying(lambda: set_up_streams(js, registry_ttl, replicas, duplicate_window),
                   timeout, "creating the streams")


def restoring(set_up: Callable[[], Awaitable[None]], say: Callable[[str], None]
              ) -> Callable[[], Awaitable[None]]:
    """The supervisor connection's ``reconnected_cb``: NATS came back, perhaps without its
    store (deleted, a lost disk: docs/chaos.md F4), so every stream and bucket is set up
    again (``set_up``, idempotent), in a task of its own so the reconnect is not held."""
    tasks: set[asyncio.Task] = set()

    async def run() -> None:
        try:
            await set_up()
        except Exception as exc:
            say(f"NATS reconnected, but its streams were not set up again: {exc}")

    async def reconnected() -> None:
        task = asyncio.create_task(run(), name="restore-streams")
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return reconnected

"""The links ``mercato up --fault-proxies`` puts a fault proxy on (docs/chaos.md §1):

- ``to-<instance>``: in front of each service instance. The instance listens on a port of
  its own and registers the proxy's address (``MERCATO_ADVERTISE_URL``), so every call
  to it — orders' to payments, the gateway's — goes through the proxy.
- ``nats-<service>``: between each service's instances and NATS (the first server).
- ``db-<service>``: between each service and its PostgreSQL server (production profile;
  SQLite has no link to break).
- ``provider-payments``: between payments and the card provider (F8).

Names take ``*`` patterns when toxics are set (``to-payments-*``, ``db-*``).
"""

from __future__ import annotations

import fnmatch
import random
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mercato.platform.faults.proxy import FaultProxy
from mercato.platform.supervisor import ProcessSpec

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A port nothing uses now, which the instance binds a moment later and again after
    every restart. Drawn below the kernel's ephemeral range: a port from ``bind(0)``
    could meanwhile become the local port of some outgoing connection (or a port-0
    listener's), and the instance would fail to bind it on every restart (seen under
    F9's test: payments crash-looping on EADDRINUSE)."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randint(max(1024, low - 12_000), low - 1)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # that range all taken: any free port
        s.bind((host, 0))
        return s.getsockname()[1]


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _host_port(url: str, default: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or HOST, parts.port or default


def _with_port(url: str, port: int) -> str:
    """``url`` pointing at the proxy on ``HOST:port`` instead (user, path, query kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]  # user and password, as given (still quoted)
    return urlunsplit(parts._replace(netloc=f"{user}@{HOST}:{port}" if user else
                                     f"{HOST}:{port}"))


class FaultLinks:
    """Every proxy of one ``mercato up``, by name."""

    def __init__(self) -> None:
        self.proxies: dict[str, FaultProxy] = {}
        # Each instance's own address, behind its proxy: the supervisor's liveness checks go
        # there, so a fault on the link is not taken for a hung process and killed.
        self.direct: dict[str, str] = {}

    async def _proxy(self, name: str, upstream: tuple[str, int]) -> FaultProxy:
        found = self.proxies.get(name)
        if found is None:
            found = self.proxies[name] = FaultProxy(name, upstream)
            await found.start()
        return found

    async def route(self, spec: ProcessSpec, service: str) -> ProcessSpec:
        """``spec`` (a service instance's) with its links through proxies: its own port
        behind ``to-<instance>``, its NATS and its PostgreSQL through theirs."""
        env = dict(spec.env)
        port = free_port()
        inbound = await self._proxy(f"to-{spec.name}", (HOST, port))
        scheme = "https" if env.get("MERCATO_MTLS") == "1" else "http"
        env["MERCATO_ADVERTISE_URL"] = f"{scheme}://{HOST}:{inbound.listen_port}"
        self.direct[spec.name] = f"{scheme}://{HOST}:{port}"
        servers = env.get("MERCATO_NATS_URL", "")
        if servers:
            first = servers.split(",")[0]
            nats = await self._proxy(f"nats-{service}", _host_port(first, 4222))
            env["MERCATO_NATS_URL"] = _with_port(first, nats.listen_port)
        own = f"MERCATO_{service.upper()}_DATABASE_URL"
        database = env.get(own) or env.get("MERCATO_DATABASE_URL")
        if database and database.startswith("postgres"):
            db = await self._proxy(f"db-{service}", _host_port(database, 5432))
            env[own] = _with_port(database, db.listen_port)
        provider = env.get("MERCATO_PAYMENT_PROVIDER_URL")
        if service == "payments" and provider:
            link = await self._proxy("provider-payments", _host_port(provider, 80))
            env["MERCATO_PAYMENT_PROVIDER_URL"] = _with_port(provider, link.listen_port)
        return replace(spec, argv=[*spec.argv, "--port", str(port)], env=env)

    def matching(self, pattern: str) -> list[FaultProxy]:
        """The proxies whose name matches ``pattern``; ``ValueError`` when none does."""
        found = [p for name, p in sorted(self.proxies.items())
                 if fnmatch.fnmatchcase(name, pattern)]
        if not found:
            raise ValueError(f"no fault proxy matches {pattern!r}; "
                             f"there are: {', '.join(sorted(self.proxies)) or 'none'}")
        return found

    def set(self, pattern: str, changes: dict[str, Any]) -> list[dict[str, Any]]:
        """Apply ``changes`` to every proxy matching ``pattern`` (all or none: each is
        checked first); what each now does."""
        proxies = self.matching(pattern)
        for p in proxies:
            p.link.changed(changes)  # BadToxic (a ValueError) before any is changed
        return [{"name": p.name, "toxics": p.set(changes).active()} for p in proxies]

    def heal(self, pattern: str = "*") -> list[str]:
        """Every toxic off on the proxies matching ``pattern``; their names."""
        proxies = self.matching(pattern) if self.proxies else []
        for p in proxies:
            p.clear()
        return [p.name for p in proxies]

    def describe(self) -> list[dict[str, Any]]:
        return [p.describe() for _, p in sorted(self.proxies.items())]

    async def close(self) -> None:
        for p in self.proxies.values():
            await p.stop()

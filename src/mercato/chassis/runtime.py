"""The infrastructure one service process stands on, opened and closed in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import nats
from nats.aio.client import Client as Nats
from nats.js import JetStreamContext

from mercato.chassis.calls.client import ServiceClient
from mercato.chassis.calls.registry import Instance, Registration, RegistryView
from mercato.chassis.calls.resilience import CallPolicy
from mercato.chassis.calls.routing import RoutingView
from mercato.chassis.data.db import Database
from mercato.chassis.data.opening import open_database
from mercato.chassis.errors import ErrorTable
from mercato.chassis.faults import NO_FAULTS, CrashPoints
from mercato.chassis.identity import ServiceIdentity, load_identity
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import (
    Broadcast,
    Broadcasts,
    Consumers,
    Outbox,
    Relay,
    Subscription,
)
from mercato.chassis.messaging.credentials import connect_options
from mercato.chassis.messaging.servers import nats_servers
from mercato.chassis.messaging.streams import ensure_stream, event_stream_config
from mercato.chassis.security import TokenVerifier
from mercato.chassis.settings import Settings
from mercato.chassis.tls import client_ssl
from mercato.chassis.tls.context import tls_files

if TYPE_CHECKING:  # gRPC is imported only by a process that speaks it (grpc_on)
    from mercato.chassis.rpc.client import RpcClient
    from mercato.chassis.rpc.server import RpcServer, Served

log = get_logger(__name__)


class Background(Protocol):
    """A service's background loop (a chassis ``Worker``, or a class built on one)."""

    def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class Runtime:
    """Handles to this process's database, broker, registry and clients."""

    service: str
    settings: Settings
    instance: Instance
    db: Database | None = None
    nc: Nats | None = None
    view: RegistryView | None = None
    registration: Registration | None = None
    client: ServiceClient | None = None
    rpc: RpcClient | None = None  # the same calls' resilience, over gRPC (chassis/rpc)
    rpc_server: RpcServer | None = None
    identity: ServiceIdentity | None = None
    verifier: TokenVerifier | None = None
    js: JetStreamContext | None = None
    outbox: Outbox | None = None
    relay: Relay | None = None
    consumers: Consumers | None = None
    broadcasts: Broadcasts | None = None
    started: bool = False
    draining: bool = False
    crash_point: CrashPoints = NO_FAULTS
    # MERCATO_MTLS=1: this workload's client TLS context (its certificate), for NATS and
    # for calls to services; None, plain (chassis/tls).
    tls: ssl.SSLContext | None = None
    # what ``run``/``on_stop`` were given: awaited in reverse order by ``stop_workers``
    _stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def open(self, migrations_dir: Path | None) -> None:
        s = self.settings
        s.require_production("service_key_file", "service_jwks_file", "nats_nkey_file")
        self.crash_point = CrashPoints(s.fault_dir, self.service)
        self.identity = load_identity(self.service, s)  # first: no key, no start
        self.tls = client_ssl(s, self.service)
        if migrations_dir is not None:  # SQLite, or PostgreSQL by URL (data/opening.py)
            self.db = await open_database(s, self.service, migrations_dir)
            self.outbox = Outbox(self.db, self.service)
        self.nc = await nats.connect(
            nats_servers(s.nats_url), name=f"{self.service}/{self.instance.instance_id}",
            **connect_options(self.service, s.nats_nkey_file),  # its own NATS user
            **({"tls": self.tls} if self.tls else {}),  # MERCATO_MTLS=1: its certificate
            max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            # notice a hung broker in seconds, not the default minutes
            ping_interval=5, max_outstanding_pings=2,
            error_cb=_log_nats_error, disconnected_cb=_log_disconnect,
            reconnected_cb=self._reconnected,
        )
        self.js = self.nc.jetstream()
        self.view = RegistryView(self.nc, s.registry_ttl)
        await self.view.start()
        self.view.routing = RoutingView(self.nc)
        await self.view.routing.start()
        self.client = ServiceClient(self.view, self.identity, timeout=s.call_timeout,
                                    policy=CallPolicy.from_settings(s),
                                    ssl=self.tls)
        await self.client.start()
        if self.grpc_on:
            from mercato.chassis.rpc.client import RpcClient
            self.rpc = RpcClient(self.client.resilience, self.identity,
                                 tls=tls_files(s, self.service))
        self.verifier = TokenVerifier(self._fetch_jwks, s.token_issuer, s.token_audience,
                                      leeway=s.clock_skew_leeway)
        self.registration = Registration(self.nc, self.instance, s.heartbeat_interval,
                                         s.registry_ttl)

    @property
    def grpc_on(self) -> bool:
        """The platform's internal calls go over gRPC (MERCATO_INTERNAL_TRANSPORT): only
        then does a process load grpc (~9 MB of RSS each, measured), serve its servicers
        and call others' (docs/internal-transport.md)."""
        return self.settings.internal_transport == "grpc"

    async def serve_rpc(self, served: list[Served], errors: ErrorTable) -> None:
        """Serve ``served`` over gRPC beside the HTTP app, on ``grpc_port`` (0: a free
        one); the registry entry then names the endpoint (``Instance.grpc``)."""
        from mercato.chassis.rpc.server import RpcServer
        s = self.settings
        self.rpc_server = RpcServer(self.identity.verify, errors, ready=self.is_ready,
                                    reflection=s.env == "development",
                                    tls=tls_files(s, self.service))
        for one in served:
            self.rpc_server.add(*one)
        port = await self.rpc_server.start(s.host, s.grpc_port)
        self.instance.grpc = f"{s.host}:{port}"

    def mark_started(self) -> None:
        """Started: everything built so far (modules, settings, connections, the app)
        lives as long as the process, so it is moved out of the garbage collector's
        generations (``gc.freeze``) and full collections scan only what requests allocate
        since. Measured: see benchmarks/RESULTS.md (bench_tracing, "gc.freeze")."""
        self.started = True
        gc.freeze()

    async def start_messaging(self, *, publishes: bool, subscriptions: list[Subscription],
                              broadcasts: Sequence[Broadcast] = ()) -> None:
        """Streams, the outbox relay (if this service publishes), its consumers and the
        events every instance hears (``broadcasts``, after its own stream exists)."""
        if publishes:
            config = event_stream_config(self.service,
                                         duplicate_window=self.settings.nats_duplicate_window)
            await ensure_stream(self.js, config)  # its own only
            self.relay = Relay(self.outbox, self.js, crash_point=self.crash_point,
                               stream=config, retention=self.settings.outbox_retention)
            self.relay.start()
        # A subscription tied to a saga mode runs only in that mode (docs/choreography.md).
        mode = self.settings.saga_mode
        subscriptions = [x for x in subscriptions if x.saga_mode in (None, mode)]
        if subscriptions:
            self.consumers = Consumers(self.service, self.db, self.js, subscriptions,
                                       crash_point=self.crash_point)
            await self.consumers.start()
        if broadcasts:
            self.broadcasts = Broadcasts(self.js, list(broadcasts))
            await self.broadcasts.start()

    async def _reconnected(self) -> None:
        """NATS is back, perhaps without its store (docs/chaos.md F4): the relay probes its
        stream and the consumers check their durables before going on."""
        log.info("nats_reconnected")
        if self.relay:
            self.relay.reconnected()
        if self.consumers:
            self.consumers.reconnected()

    async def stop_messaging(self) -> None:
        if self.broadcasts:
            await self.broadcasts.stop()
        if self.consumers:
            await self.consumers.stop()
        if self.relay:
            await self.relay.stop()

    def verify_with(self, fetch_jwks: Callable[[], Awaitable[dict]]) -> None:
        """Check users' tokens against the keys ``fetch_jwks`` returns instead of identity's
        published set (identity itself, which holds the keys)."""
        s = self.settings
        self.verifier = TokenVerifier(fetch_jwks, s.token_issuer, s.token_audience,
                                      leeway=s.clock_skew_leeway)

    def run(self, worker: Background) -> None:
        """Start ``worker``; the chassis stops it when the process stops (after the
        consumers and the relay, before the database closes)."""
        worker.start()
        self._stops.append(worker.stop)

    def on_stop(self, stop: Callable[[], Awaitable[None]]) -> None:
        """Await ``stop`` when the process stops, with the workers (a loop that is not a
        ``Background``, e.g. the saga runner's tasks)."""
        self._stops.append(stop)

    async def stop_workers(self) -> None:
        """Stop what ``run``/``on_stop`` were given, the last first; one failure does not
        keep the others running."""
        while self._stops:
            stop = self._stops.pop()
            try:
                await stop()
            except Exception as exc:
                log.warning("stop_failed", step=getattr(stop, "__qualname__", "?"),
                            error=str(exc))

    async def _fetch_jwks(self) -> dict:
        reply = await self.client.call("identity", "GET", "/.well-known/jwks.json", timeout=2)
        if not reply.ok:
            raise RuntimeError(f"identity answered {reply.status} for the JWKS")
        return reply.json()

    async def drain(self, seconds: float) -> None:
        """Before a graceful stop (docs/deployments.md): leave the registry, answer
        /health/ready with 503, and keep serving for ``seconds`` while every caller's view
        drops this instance; the server then finishes the requests in flight and stops."""
        self.draining = True
        log.info("draining", instance=self.instance.instance_id, seconds=seconds)
        if self.registration:
            await self.registration.stop()
        await asyncio.sleep(seconds)

    async def is_ready(self) -> bool:
        """Ready when the database answers and the broker connection is up (and the
        instance is not draining)."""
        if self.draining:
            return False
        try:
            if self.db is not None:
                await self.db.ping()
        except Exception:
            return False
        return bool(self.started and self.nc is not None and self.nc.is_connected)

    async def close(self) -> None:
        """Close everything opened, in reverse order; one failure does not stop the rest."""
        steps = []
        if self.registration:
            steps.append(self.registration.stop)
        if self.rpc_server:
            steps.append(self.rpc_server.stop)
        if self.view:
            if self.view.routing:
                steps.append(self.view.routing.stop)
            steps.append(self.view.stop)
        if self.rpc:
            steps.append(self.rpc.close)
        if self.client:
            steps.append(self.client.close)
        if self.nc:
            steps.append(self._close_nats)
        if self.db:
            steps.append(self.db.close)
        for step in steps:
            try:
                await step()
            except Exception as exc:
                log.warning("close_failed", step=getattr(step, "__qualname__", "?"),
                            error=str(exc))

    async def _close_nats(self) -> None:
        # Not drain(): consumers and relay are stopped already, and drain can hang on the
        # ordered consumers of KV watches. Flush what was published, then close.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.nc.flush(), 1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.nc.close(), 2.0)


def make_instance(service: str, number: int, address: str, version: str) -> Instance:
    """The registry entry of this process: ``<service>-<number>-<random>`` at ``address``."""
    return Instance(
        service=service, instance_id=f"{service}-{number}-{os.urandom(3).hex()}",
        address=address, version=version, pid=os.getpid(),
    )


async def _log_nats_error(exc: Exception) -> None:
    log.warning("nats_error", error=str(exc))


async def _log_disconnect() -> None:
    log.warning("nats_disconnected")

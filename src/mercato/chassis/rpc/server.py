"""A service's gRPC server, beside its HTTP app (docs/internal-transport.md §3): its own
port, every call through the ``Gate``, the standard health service (``grpc.health.v1``,
answering as ``/health/ready`` does) and, in development, reflection.

A servicer declares who may call each method next to it, as a route does with
``require_service``::

    class ReservationsServicer(inventory_pb2_grpc.ReservationsServicer):
        @allow("orders")
        async def Reserve(self, request, context): ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mercato.chassis.errors import ErrorTable
from mercato.chassis.logging import get_logger
from mercato.chassis.rpc.gate import Gate
from mercato.chassis.tls.context import TlsFiles

log = get_logger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Served(NamedTuple):
    """A servicer of the proto service ``name`` (its full name, e.g.
    ``mercato.inventory.v1.Reservations``) and the generated function that adds it to a
    server (``add_<Name>Servicer_to_server``): what a service's bootstrap declares."""

    servicer: Any
    add_to_server: Callable
    name: str


def allow(*callers: str) -> Callable:
    """The services that may call the decorated servicer method (no one else: 403)."""
    if not callers:
        raise ValueError("name the services that may call this method")

    def mark(method: Callable) -> Callable:
        method.callers = frozenset(callers)  # type: ignore[attr-defined]
        return method

    return mark


class RpcServer:
    """``add`` servicers, then ``start`` (returns the port) and ``stop``. ``verify`` is the
    service identity's token check; ``ready`` what ``/health/ready`` asks."""

    def __init__(self, verify: Callable, errors: ErrorTable, *,
                 ready: Callable[[], Awaitable[bool]], reflection: bool = False,
                 tls: TlsFiles | None = None) -> None:
        self._verify, self._errors, self._ready = verify, errors, ready
        self._reflection, self._tls = reflection, tls
        self._servicers: list[tuple[Any, Callable, str]] = []
        self.allowlist: dict[str, frozenset[str]] = {}
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._watch: asyncio.Task | None = None

    def add(self, servicer: Any, add_to_server: Callable, service: str) -> None:
        """``servicer`` of the proto service ``service`` (see ``Served``)."""
        self._servicers.append((servicer, add_to_server, service))
        for name in dir(type(servicer)):
            callers = getattr(getattr(servicer, name, None), "callers", None)
            if callers is not None:
                self.allowlist[f"/{service}/{name}"] = callers

    async def start(self, host: str, port: int = 0) -> int:
        gate = Gate(self._verify, self._errors, self.allowlist, mtls=self._tls is not None)
        server = self._server = grpc.aio.server(interceptors=[gate])
        for servicer, add_to_server, _ in self._servicers:
            add_to_server(servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        names = [s for _, _, s in self._servicers]
        if self._reflection:
            reflection.enable_server_reflection(
                [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                 reflection.SERVICE_NAME], server)
        address = f"{host}:{port}"
        bound = (server.add_secure_port(address, _credentials(self._tls)) if self._tls
                 else server.add_insecure_port(address))
        await server.start()
        self._watch = asyncio.create_task(self._mirror(["", *names]), name="grpc-health")
        log.info("grpc_started", port=bound, services=names)
        return bound

    async def _mirror(self, names: list[str]) -> None:
        """Health follows readiness (checked each second): not serving while starting,
        draining or without its database or broker."""
        last = None
        while True:
            status = SERVING if await self._ready() else NOT_SERVING
            if status != last:
                for name in names:
                    await self._health.set(name, status)
                last = status
            await asyncio.sleep(1)

    async def stop(self, grace: float = 5.0) -> None:
        if self._watch:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._server is not None:
            await self._health.enter_graceful_shutdown()
            await self._server.stop(grace)


def _credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """mTLS: the workload's certificate, clients' certificates required from the CA."""
    return grpc.ssl_server_credentials(
        [(files.key.read_bytes(), files.cert.read_bytes())],
        root_certificates=files.ca.read_bytes(), require_client_auth=True)

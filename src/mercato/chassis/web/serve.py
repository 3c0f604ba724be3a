"""Run one service instance: bind a port (0 = any free one), build its app, serve it."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Callable

import uvicorn
import uvloop
from fastapi import FastAPI

from mercato.chassis.calls.client import CLIENT_IDLE_SECONDS
from mercato.chassis.logging import configure_logging
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.settings import Settings
from mercato.chassis.telemetry import setup_tracing
from mercato.chassis.tls import scheme, uvicorn_ssl
from mercato.chassis.tls.peer import PeerCertProtocol

AppBuilder = Callable[[Runtime], FastAPI]
# An idle kept-alive connection is closed by its client, never by the server: uvicorn's
# default (5 s) closed connections the gateway still pooled, and a request written on one
# as it closed failed with a 503 (seen in CI). Longer than CLIENT_IDLE_SECONDS.
SERVER_IDLE_SECONDS = 2 * CLIENT_IDLE_SECONDS + 15


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port), inheritable by a child."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_service(service: str, build: AppBuilder, settings: Settings, *,
                  instance: int = 1, port: int = 0) -> None:
    """Serve one instance until SIGINT/SIGTERM; a graceful stop deregisters it first."""
    sock = bind(settings.host, port)
    runtime = process_runtime(service, instance, settings, sock)
    app = build(runtime)
    # MERCATO_MTLS=1: HTTPS with client certificates, each request knowing its peer's
    config = service_config(app, settings, service)
    server = DrainingServer(config, runtime)
    # uvicorn's loop= setting only applies to server.run(); serve() runs on ours.
    uvloop.run(_serve(server, sock))


def service_config(app: FastAPI, settings: Settings, service: str) -> uvicorn.Config:
    """How a service instance serves HTTP (mTLS with ``MERCATO_MTLS=1``)."""
    return uvicorn.Config(app, loop="uvloop", lifespan="on",
                          http=PeerCertProtocol if settings.mtls else "httptools",
                          access_log=False, log_config=None, timeout_graceful_shutdown=10,
                          timeout_keep_alive=SERVER_IDLE_SECONDS, server_header=False,
                          **uvicorn_ssl(settings, service))


def process_runtime(service: str, instance: int, settings: Settings,
                    sock: socket.socket, *, edge: bool = False) -> Runtime:
    """The start of every served process (a service or the gateway): its JSON logs, its
    identity in the registry (listening on ``sock``) and its tracer provider. Its address
    is https with mTLS on, but for the ``edge`` (the gateway's public port, plain HTTP);
    ``MERCATO_ADVERTISE_URL`` replaces a service's (a fault proxy in front of it)."""
    configure_logging(f"{service}-{instance}", settings.log_level)
    address = (settings.advertise_url if settings.advertise_url and not edge else
               f"{'http' if edge else scheme(settings)}://{settings.host}:{sock.getsockname()[1]}")
    runtime = Runtime(service, settings, make_instance(service, instance, address,
                                                       settings.version))
    setup_tracing(service, runtime.instance.instance_id, settings.version)
    return runtime


class DrainingServer(uvicorn.Server):
    """SIGTERM drains first (``Runtime.drain``: out of the registry, not ready, still
    serving for two heartbeat intervals), then stops gracefully as uvicorn does; SIGINT,
    or a second signal, stops at once (the whole platform is going away)."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime
        self._drain: asyncio.Task | bool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets=None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets=sockets)

    def handle_exit(self, sig: int, frame) -> None:
        if sig != signal.SIGTERM or self._drain is not None or not self.started:
            super().handle_exit(sig, frame)
            return
        self._drain = True  # a signal handler: start the drain from the loop itself
        self._loop.call_soon_threadsafe(self._start_drain, sig)

    def _start_drain(self, sig: int) -> None:
        self._drain = asyncio.create_task(self._drain_then_exit(sig), name="drain")

    async def _drain_then_exit(self, sig: int) -> None:
        try:
            await self.runtime.drain(2 * self.runtime.settings.heartbeat_interval)
        finally:
            super().handle_exit(sig, None)


async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump_tasks)
    await server.serve(sockets=[sock])


def dump_tasks() -> None:
    """On SIGUSR1: every asyncio task and where it waits, to stderr (the process log) —
    for finding what a process that will not stop is waiting for."""
    tasks = asyncio.all_tasks()
    print(f"--- {len(tasks)} asyncio tasks ---", file=sys.stderr)
    for task in tasks:
        print(f"task {task.get_name()}:", file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)
    sys.stderr.flush()

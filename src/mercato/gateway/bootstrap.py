"""The gateway's composition root."""

from __future__ import annotations

import socket

import uvicorn
import uvloop

from mercato.chassis.runtime import Runtime
from mercato.chassis.settings import Settings
from mercato.chassis.web.serve import bind, process_runtime
from mercato.gateway.app import Gateway


def build(runtime: Runtime) -> Gateway:
    return Gateway(runtime)


def serve_gateway(settings: Settings, *, instance: int, port: int,
                  fd: int | None = None) -> None:
    """Serve on ``port``, or on the listening socket ``fd`` inherited from ``mercato up``."""
    sock = socket.socket(fileno=fd) if fd is not None else bind(settings.host, port)
    runtime = process_runtime("gateway", instance, settings, sock)
    config = uvicorn.Config(build(runtime), loop="uvloop", http="httptools", lifespan="on",
                            access_log=False, log_config=None, timeout_graceful_shutdown=10,
                            backlog=2048, server_header=False)
    uvloop.run(uvicorn.Server(config).serve(sockets=[sock]))

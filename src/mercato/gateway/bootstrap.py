"""The gateway's composition root."""

from __future__ import annotations

import socket

import uvicorn
import uvloop
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis.identity import shared_secret
from mercato.chassis.runtime import Runtime
from mercato.chassis.settings import Settings
from mercato.chassis.web.serve import bind, process_runtime
from mercato.console.app import create_console
from mercato.gateway.app import Gateway
from mercato.gateway.inprocess import InProcessApi
from mercato.gateway.web import Pages
from mercato.storefront.app import create_storefront


class EdgeSettings(BaseSettings):
    """The gateway's place in the network."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # MERCATO_TRUSTED_PROXIES: comma-separated addresses or networks of the proxies in front
    # of the gateway; only from them is X-Forwarded-For believed as the client's address
    # (rate limits per address, logs). Empty: the peer's own address, always.
    trusted_proxies: str = ""


def build(runtime: Runtime) -> Gateway:
    gateway = Gateway(runtime)
    # The pages call the public API in process; their visitors' tokens are checked by the
    # same verifier as the API's (known once the gateway has started).
    api = InProcessApi(gateway.handle)

    async def verify(token: str):
        return await runtime.verifier.verify(token)

    secret = shared_secret(runtime.settings, "pages")  # signs the pages' CSRF tokens
    gateway.pages = Pages(create_storefront(api, verify, secret),
                          create_console(api, verify, secret))
    return gateway


def serve_gateway(settings: Settings, *, instance: int, port: int,
                  fd: int | None = None) -> None:
    """Serve on ``port``, or on the listening socket ``fd`` inherited from ``mercato up``."""
    sock = socket.socket(fileno=fd) if fd is not None else bind(settings.host, port)
    runtime = process_runtime("gateway", instance, settings, sock)
    proxies = EdgeSettings().trusted_proxies.strip()
    config = uvicorn.Config(build(runtime), loop="uvloop", http="httptools", lifespan="on",
                            access_log=False, log_config=None, timeout_graceful_shutdown=10,
                            backlog=2048, server_header=False,
                            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default:
                            # any local client could then pick its own address
                            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
    uvloop.run(uvicorn.Server(config).serve(sockets=[sock]))

"""The gateway's composition root: its settings of its own (``EdgeSettings``), the app,
and the uvicorn server with the connection guard (http_protocol.py)."""

from __future__ import annotations

import socket
from datetime import date

import uvicorn
import uvloop
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis.identity import shared_secret
from mercato.chassis.runtime import Runtime
from mercato.chassis.settings import Settings
from mercato.chassis.web.serve import bind, process_runtime
from mercato.console.app import create_console
from mercato.gateway.app import Gateway
from mercato.gateway.http_protocol import guarded_protocol
from mercato.gateway.inprocess import InProcessApi
from mercato.gateway.local import MetricsAccess
from mercato.gateway.versions import DEPRECATED, SUNSET, Deprecation
from mercato.gateway.web import Pages
from mercato.storefront.app import create_storefront


class EdgeSettings(BaseSettings):
    """The gateway's place in the network and what it allows the clients it faces."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # MERCATO_TRUSTED_PROXIES: comma-separated addresses or networks of the proxies in front
    # of the gateway; only from them is X-Forwarded-For believed as the client's address
    # (rate limits per address, logs). Empty: the peer's own address, always.
    trusted_proxies: str = ""
    # MERCATO_GATEWAY_HEADER_TIMEOUT: seconds for a request's headers to arrive (408 and
    # the close after); MERCATO_GATEWAY_MAX_HEADER_BYTES: their size (431 past it).
    gateway_header_timeout: float = Field(default=10.0, gt=0)
    gateway_max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    # MERCATO_GATEWAY_BODY_TIMEOUT: seconds for a request's whole body once its headers
    # are in (408); at the 1 MB default body limit, about 35 kB/s at the least.
    gateway_body_timeout: float = Field(default=30.0, gt=0)
    # Who reads the gateway's own /metrics (local.py MetricsAccess): a bearer token
    # (MERCATO_GATEWAY_METRICS_TOKEN, unset: none works) or these addresses or networks
    # (MERCATO_GATEWAY_METRICS_FROM; default this host, where `mercato up`'s scraper runs).
    gateway_metrics_token: str = ""
    gateway_metrics_from: str = "127.0.0.1,::1"
    # MERCATO_API_V1_DEPRECATED and MERCATO_API_V1_SUNSET (YYYY-MM-DD, UTC): the dates the
    # answers of v1 routes with a v2 successor carry (Deprecation, Sunset; versions.py).
    api_v1_deprecated: date = DEPRECATED
    api_v1_sunset: date = SUNSET

    @model_validator(mode="after")
    def _sunset_after_deprecation(self) -> EdgeSettings:
        Deprecation(self.api_v1_deprecated, self.api_v1_sunset)  # raises when it is not
        return self


def build(runtime: Runtime, edge: EdgeSettings | None = None) -> Gateway:
    edge = edge or EdgeSettings()
    gateway = Gateway(runtime)
    gateway.body_timeout = edge.gateway_body_timeout
    gateway.metrics = MetricsAccess.parse(edge.gateway_metrics_from, edge.gateway_metrics_token)
    gateway.deprecation = Deprecation(edge.api_v1_deprecated, edge.api_v1_sunset)
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
    runtime = process_runtime("gateway", instance, settings, sock, edge=True)  # plain HTTP
    edge = EdgeSettings()
    proxies = edge.trusted_proxies.strip()
    # httptools with a deadline and a cap on each request's headers (http_protocol.py)
    http = guarded_protocol(edge.gateway_header_timeout, edge.gateway_max_header_bytes)
    config = uvicorn.Config(build(runtime, edge), loop="uvloop", http=http, lifespan="on",
                            access_log=False, log_config=None, timeout_graceful_shutdown=10,
                            backlog=2048, server_header=False,
                            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default:
                            # any local client could then pick its own address
                            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
    uvloop.run(uvicorn.Server(config).serve(sockets=[sock]))

"""``GET /api/v1/ops/traces`` and ``GET /api/v1/ops/traces/{trace_id}`` (admin): the
embedded trace store's answers relayed (docs/trace-store.md).

The store's URL is ``MERCATO_TRACE_STORE_URL`` (``mercato up`` sets it when it runs the
store). When spans go to an external OTLP back end instead, there is nothing to read
here: 404 saying where they go. A store that does not answer: 503 with Retry-After.
"""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import quote

import aiohttp
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis.logging import get_logger
from mercato.gateway.errors import Reply

log = get_logger(__name__)
PREFIX = "/api/v1/ops/traces"
TIMEOUT = 5.0


class TraceLinkSettings(BaseSettings):
    """Where the platform's traces are: the embedded store, or an OTLP endpoint."""

    model_config = SettingsConfigDict(extra="ignore")

    mercato_trace_store_url: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_exporter_otlp_endpoint: str | None = None


@cache
def trace_link() -> TraceLinkSettings:
    """Read once, at the first trace request (the environment does not change)."""
    return TraceLinkSettings()


def is_trace_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


async def answer_traces(method: str, path: str, query: bytes,
                        link: TraceLinkSettings | None = None) -> tuple[int, bytes]:
    """The store's answer to the same question: ``/api/v1/ops/traces[/{id}]?query`` ->
    ``/traces[/{id}]?query``; its 400s and 404s pass through as they are."""
    link = link or trace_link()
    if method != "GET":
        raise Reply(405, f"{method} {path}: the trace routes are read-only (GET)")
    rest = path[len(PREFIX):]
    if rest.count("/") > 1 or rest == "/":
        raise Reply(404, f"no operations route {method} {path}")
    if not link.mercato_trace_store_url:
        where = (link.otel_exporter_otlp_traces_endpoint or link.otel_exporter_otlp_endpoint)
        raise Reply(404, f"traces are exported to {where}; this platform keeps no trace "
                         "store" if where else
                    "this platform keeps no trace store (MERCATO_TRACE_STORE_URL is unset)")
    url = link.mercato_trace_store_url.rstrip("/") + "/traces" + quote(rest)
    if query:
        url += "?" + query.decode("latin-1")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
            async with http.get(url) as r:
                body = await r.read()
                status = r.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("trace_store_unavailable", url=url, error=str(exc) or type(exc).__name__)
        raise Reply(503, f"the trace store does not answer ({type(exc).__name__})",
                    {"Retry-After": "1"}) from None
    if status >= 500:
        raise Reply(503, f"the trace store answered {status}", {"Retry-After": "1"})
    if status != 200:
        raise Reply(status, _detail(body, status))
    return status, body


def _detail(body: bytes, status: int) -> str:
    try:
        return str(json.loads(body)["detail"])
    except (ValueError, KeyError, TypeError):
        return f"the trace store answered {status}"

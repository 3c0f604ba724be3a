"""``OPTIONS`` at the gateway (RFC 9110 §9.3.7): 204 and ``Allow``, the methods the target
resource takes — never forwarded, and no CORS headers (none is configured).

Why not ask the service with OPTIONS: FastAPI answers it with a 405 whose ``Allow`` names
only the first route that matched the path (``GET /api/v1/orders`` and ``POST
/api/v1/orders`` are two routes; OPTIONS was told ``POST``). A service's OpenAPI document
lists every route and method, so the gateway reads it from the same ``Documents`` cache
that the published contract is combined from (openapi.py: read through the chassis
client, with the gateway's workload token, on the service's own port); the route table
made from a document is kept with it. The gateway's own routes (operations, storefront)
are listed here.

``HEAD`` is taken wherever ``GET`` is (the gateway answers it as GET without the body).
A service's own 405 (a method the path does not take) has its ``Allow`` replaced with
the same full list before it is sent on.
"""

from __future__ import annotations

import re

from mercato.chassis.calls.client import Unavailable
from mercato.gateway.dead_letters import CONSUMER, ONE, REPLAY
from mercato.gateway.errors import Reply
from mercato.gateway.events_feed import EVENTS_PATH
from mercato.gateway.metrics_sampler import SERIES_PATH
from mercato.gateway.openapi import Documents
from mercato.gateway.ops import AUDIT_PATH, SAGA_PATH
from mercato.gateway.policy import resolve
from mercato.gateway.public_api import CONTRACT_PATHS
from mercato.gateway.release import ACTION, DEPLOYMENTS_PATH
from mercato.gateway.storefront import storefront_path
from mercato.gateway.targets import TARGETS_PATH
from mercato.gateway.traces import is_trace_path

VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_GET_ONLY = {"/api/v1/ops/services", TARGETS_PATH, "/api/v1/ops/breakers",
             "/api/v1/ops/dead-letters", EVENTS_PATH, AUDIT_PATH, DEPLOYMENTS_PATH}


def allow_header(methods: set[str]) -> str:
    """``Allow``'s value: ``methods`` plus HEAD where GET is, and OPTIONS, in one order."""
    full = set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return ", ".join(m for m in VERBS if m in full)


def local_methods(path: str) -> set[str]:
    """The methods of one of the gateway's own API routes (ops.py, storefront.py)."""
    if REPLAY.match(path) or ACTION.match(path):
        return {"POST"}
    if (path in _GET_ONLY or storefront_path(path) or SAGA_PATH.match(path)
            or ONE.match(path) or CONSUMER.match(path) or is_trace_path(path)
            or path.startswith(SERIES_PATH)):
        return {"GET"}
    return set()


class ServiceMethods:
    """Each service's routes and their methods, from its OpenAPI document."""

    def __init__(self, documents: Documents | None) -> None:
        self.documents = documents  # the gateway's, known once it has started
        self._tables: dict[str, tuple[dict, list[tuple[re.Pattern, set[str]]]]] = {}

    async def allow(self, path: str) -> tuple[str, str]:
        """(who answers, ``Allow``) for ``path``; ``Reply`` 404 when it takes no method,
        503 when its service cannot say which."""
        route = resolve("GET", path)
        methods: set[str] = set()
        if path in CONTRACT_PATHS:
            return "gateway", allow_header({"GET"})
        if route is not None and route.service is None:
            methods = local_methods(path)
        elif route is not None and path.startswith("/.well-known/"):
            methods = {"GET"}
        elif route is not None:
            try:
                methods = await self.of(route.service, path)
            except Unavailable as exc:
                raise Reply(503, str(exc), {"Retry-After": "1"}) from None
        if not methods:
            raise Reply(404, f"no route for {path}")
        return route.service or "gateway", allow_header(methods)

    async def full_allow(self, path: str, headers: list) -> list:
        """A service's 405 answer's ``headers`` with ``Allow`` naming every method of
        ``path`` (FastAPI's names only the first route that matched)."""
        try:
            _, allow = await self.allow(path)
        except Reply:  # the service cannot say now: its own header stays
            return headers
        return [h for h in headers if h[0].lower() != b"allow"] + [(b"allow", allow.encode())]

    async def of(self, service: str, path: str) -> set[str]:
        """The methods ``path`` takes at ``service`` (empty: no such route); raises
        ``Unavailable`` when the service cannot say."""
        if self.documents is None:
            raise Unavailable(service, "the gateway is starting")
        try:
            document = await self.documents.of(service)
        except Unavailable:
            raise
        except Exception as exc:  # not JSON, or the call itself failed
            raise Unavailable(service, f"its route list cannot be read ({exc})") from None
        kept = self._tables.get(service)
        if kept is None or kept[0] is not document:  # a new document: a new table
            kept = document, routes(document.get("paths", {}))
            self._tables[service] = kept
        return set().union(*(verbs for pattern, verbs in kept[1] if pattern.match(path)))


def routes(paths: dict) -> list[tuple[re.Pattern, set[str]]]:
    """(path pattern, methods) per OpenAPI path template (``{name}`` is one segment)."""
    table = []
    for template, item in paths.items():
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^}/]+\})", template))
        verbs = {m.upper() for m in item if m.upper() in VERBS}
        table.append((re.compile(f"^{pattern}$"), verbs))
    return table

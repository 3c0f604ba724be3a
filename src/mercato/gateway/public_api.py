"""The published contract: ``GET /api/v1/openapi.json`` (the public API in one OpenAPI 3.1
document, combined by openapi.py from the services' documents: every version, the
deprecated operations marked ``deprecated``), ``GET /api/v2/openapi.json`` (the same
combiner keeping only v2's operations) and ``GET /api/v1/docs`` (a page that reads the
first and lists every operation; no script from elsewhere, it works offline). All are
public: the document is what any client may call.

What the gateway adds to each operation it forwards is its routing table's (policy.py):
who may call (``security``) and the answers the edge itself gives before or instead of the
service (``EDGE``): an ambiguous path (400), a body over the limit (413) or too slow (408),
rate limits (429), no instance (503), and for signed-in routes 401, for admin ones 403.
A v1 operation with a v2 successor is ``deprecated`` and its answers document the headers
saying so (versions.py). The gateway's own routes (operations, the storefront view) are
listed in ``OWN``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from functools import partial
from importlib import resources

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.web.openapi import problem
from mercato.gateway.openapi import Documents, combined
from mercato.gateway.policy import ROUTED_SERVICES, Access, resolve
from mercato.gateway.versions import DEPRECATION_HEADERS

OPENAPI_PATH = "/api/v1/openapi.json"
OPENAPI_V2_PATH = "/api/v2/openapi.json"
DOCS_PATH = "/api/v1/docs"
CONTRACT_PATHS = frozenset({OPENAPI_PATH, OPENAPI_V2_PATH, DOCS_PATH})
TTL = 60.0  # seconds a service's document is kept (methods.py reads the same)
EDGE = (400, 413, 429, 503)
BEARER = [{"bearer": []}]
INFO = {"title": "Mercato public API", "version": "v1",
        "description": "Everything the gateway answers under /api/v1, /api/v2 and "
                       "/.well-known; errors are application/problem+json (RFC 9457). "
                       "Deprecated operations answer with Deprecation, Sunset and a Link "
                       "to their successor."}
INFO_V2 = {"title": "Mercato public API, v2", "version": "v2",
           "description": "The operations of version 2 (the orders resource); errors are "
                          "application/problem+json (RFC 9457)."}


def exposure(method: str, template: str, version: str | None = None) -> dict | None:
    """What the gateway adds to a service operation it forwards (None: not public, or not
    of ``version`` when one is given)."""
    sample = re.sub(r"\{[^}/]+\}", "x", template)
    route = resolve(method, sample)
    if route is None or route.service is None or version not in (None, route.version):
        return None
    statuses = list(EDGE) + ([408] if method in ("POST", "PUT", "PATCH") else [])
    security: list = []
    if route.access is not Access.PUBLIC:
        security = BEARER
        statuses.append(401)
    if route.access is Access.ADMIN:
        statuses.append(403)
    added = {"security": security, "responses": {s: problem(s) for s in statuses}}
    if route.successor is not None:
        added |= {"deprecated": True, "headers": DEPRECATION_HEADERS}
    return added


def _op(summary: str, *statuses: int, params: tuple = (), post: bool = False) -> dict:
    errors = sorted({*EDGE, 401, 403, 404, *statuses} | ({408} if post else set()))
    return {"summary": summary, "security": BEARER, "parameters": list(params),
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"type": "object"}}}}, **{str(s): problem(s) for s in errors}}}


def _path(name: str, pattern: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "pattern": pattern}}


def _query(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema}


_ID = "^[A-Za-z0-9_.:-]{1,100}$"
_SEQ = _path("seq", "^[0-9]{1,18}$")
OWN = {  # the gateway's own routes (ops.py, storefront.py), every one for an admin
    "/api/v1/ops/services": {"get": _op("Every registered instance")},
    "/api/v1/ops/breakers": {"get": _op("The gateway's breakers, bulkheads and budgets")},
    "/api/v1/ops/dead-letters": {"get": _op("The newest dead letters", 503)},
    "/api/v1/ops/dead-letters/{seq}": {"get": _op("One dead letter", 503, params=(_SEQ,))},
    "/api/v1/ops/dead-letters/{seq}/replay": {
        "post": _op("Deliver a dead letter again", 503, params=(_SEQ,), post=True)},
    "/api/v1/ops/sagas/{order_id}": {
        "get": _op("A checkout saga step by step", params=(_path("order_id", _ID),))},
    "/api/v1/ops/events": {"get": _op("The newest integration events", params=(
        _query("type", {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]{0,63}$"}),
        _query("order_id", {"type": "string", "pattern": _ID}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 200})))},
    "/api/v1/ops/audit": {"get": _op("Admin state changes, newest first", params=(
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
        _query("before", {"type": "integer", "minimum": 0})))},
    "/api/v1/ops/metrics/series": {"get": _op("The gateway's last 10 minutes")},
    "/api/v1/ops/deployments": {"get": _op("Versions and deployments per service")},
    "/api/v1/storefront/orders/{order_id}": {"get": {
        **_op("An order with its products, payment, shipment and messages",
              params=(_path("order_id", _ID),)),
        "description": "The order's customer or an admin; another's order is a 404."}},
}


def service_fetcher(client: ServiceClient):
    """Reads a service's document on its own port, with the gateway's workload token."""
    async def fetch(service: str) -> dict:
        reply = await client.call(service, "GET", "/openapi.json")
        if not reply.ok:
            raise Unavailable(service, f"its OpenAPI document answered {reply.status}")
        return reply.json()
    return fetch


class PublicApi:
    """Answers ``OPENAPI_PATH`` and ``DOCS_PATH``: (status, headers, body). The combined
    document is rebuilt at most every ``refresh`` seconds while every service gave its
    own, at once when one was missing."""

    def __init__(self, documents: Documents, refresh: float = 5.0, clock=time.monotonic):
        self.documents = documents
        self.refresh = refresh
        self.clock = clock
        self._built: dict[str | None, tuple[float, bytes]] = {}  # by version (None: all)
        self._page = resources.files("mercato.gateway").joinpath("api_docs.html").read_bytes()
        script = self._page.split(b"<script>", 1)[1].split(b"</script>", 1)[0]
        digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
        self._policy = (f"default-src 'none'; script-src 'sha256-{digest}'; "
                        "style-src 'unsafe-inline'; connect-src 'self'").encode()

    async def answer(self, path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if path == DOCS_PATH:
            return 200, [(b"content-type", b"text/html; charset=utf-8"),
                         (b"content-security-policy", self._policy)], self._page
        version = "v2" if path == OPENAPI_V2_PATH else None
        return 200, [(b"content-type", b"application/json"),
                     (b"cache-control", b"public, max-age=60")], await self.body(version)

    async def body(self, version: str | None = None) -> bytes:
        """The combined public document, as JSON: every version, or only ``version``'s."""
        built = self._built.get(version)
        if built is not None and self.clock() - built[0] < self.refresh:
            return built[1]
        if version is None:
            found = await combined(self.documents, ROUTED_SERVICES, exposure, OWN, INFO)
        else:
            own = {t: item for t, item in OWN.items() if t.startswith(f"/api/{version}/")}
            found = await combined(self.documents, ROUTED_SERVICES,
                                   partial(exposure, version=version), own, INFO_V2)
        body = json.dumps(found).encode()
        if "x-mercato-missing" in found:
            self._built.pop(version, None)
        else:
            self._built[version] = (self.clock(), body)
        return body

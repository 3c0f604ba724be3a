"""The gateway: a raw ASGI app (no framework on the hot path) in front of every service.

Per request: request id and a server span (the root of the request's trace, or the
continuation of the client's ``traceparent``), a path with one reading (400, paths.py),
route lookup, access check (401/403), body limit (413) and deadline (408), rate limits
(429, gateway/ratelimit.py), then a proxied call to a ready instance (503 problem+json
when none answers) — or the gateway's own answer: operations routes (ops.py) and the
storefront view of an order (storefront.py). Every answer carries the server span's
``traceparent``, so a client can go from any answer to its trace, and the API's answers
carry the headers that stop a browser sniffing, framing or leaking them (``SECURITY``; the
pages set their own); every answer of a deprecated route, the headers saying so
(versions.py). HEAD is answered as GET without the body (same headers, the same
Content-Length); OPTIONS, and a method no route takes, from the route's methods
(methods.py). The connection itself (header deadline and size) is http_protocol.py's.
"""

from __future__ import annotations

import time

from mercato.chassis.calls.resilience import CallPolicy
from mercato.chassis.context import new_request_id, request_id_var, valid_request_id
from mercato.chassis.identity.tokens import USER_HEADER
from mercato.chassis.logging import get_logger
from mercato.chassis.runtime import Runtime
from mercato.chassis.security import AuthError, KeysUnavailable, TokenVerifier, bearer_token
from mercato.chassis.telemetry.http_metrics import gateway_duration
from mercato.chassis.telemetry.server_span import ServerSpans
from mercato.chassis.web.errors import PROBLEM_CONTENT_TYPE, problem_body
from mercato.gateway.audit import audited
from mercato.gateway.errors import Reply
from mercato.gateway.exchange import adding, read_body, route_label, title
from mercato.gateway.local import LOCAL_ONLY, answer_local
from mercato.gateway.methods import ServiceMethods
from mercato.gateway.openapi import Documents
from mercato.gateway.ops import answer_ops, console_parts
from mercato.gateway.paths import ambiguous
from mercato.gateway.policy import Access, resolve
from mercato.gateway.proxy import NoInstance, Upstreams
from mercato.gateway.public_api import CONTRACT_PATHS, TTL, PublicApi, service_fetcher
from mercato.gateway.ratelimit import RateLimiter
from mercato.gateway.storefront import Storefront, storefront_path
from mercato.gateway.versions import Deprecation
from mercato.gateway.web import Pages, is_page_path, page_route

log = get_logger(__name__)
JSON = b"application/json"
UNTRACED = ("/health/", "/metrics")  # probes and scrapes: measured, never traced
SECURITY = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"))
ROUTED = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})  # what a route may take


class Gateway:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.max_body = runtime.settings.max_body_bytes
        self.body_timeout = 30.0  # seconds; and who reads /metrics: set by bootstrap.py
        self.metrics = LOCAL_ONLY
        self.methods = ServiceMethods(None)
        self.contract: PublicApi | None = None  # /api/v1/openapi.json and /api/v1/docs
        self.upstreams: Upstreams | None = None
        # Checks a client's access token: the chassis verifier, whose cache of verified
        # tokens (until each one's exp) makes a repeat check a dictionary lookup.
        self.auth: TokenVerifier | None = None
        self.limits: RateLimiter | None = None
        self.deprecation = Deprecation()  # what deprecated routes' answers say (versions.py)
        self.spans = ServerSpans("mercato.gateway")
        self.duration = gateway_duration()
        # The storefront and the console (gateway/web.py), set by the composition root.
        self.pages: Pages | None = None
        self.parts = console_parts(runtime)  # audit trail, metrics sampler, deployments

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.runtime.open(None)
                    self.upstreams = Upstreams(self.runtime.view,
                                               CallPolicy.from_settings(self.runtime.settings),
                                               ssl=self.runtime.tls)  # MERCATO_MTLS=1
                    self.auth = self.runtime.verifier
                    documents = Documents(service_fetcher(self.runtime.client), TTL)
                    self.methods.documents = documents  # one cache of the services' documents
                    self.contract = PublicApi(documents)
                    self.limits = RateLimiter.from_env()
                    await self.limits.start()
                    await self.upstreams.start()
                    await self.parts.sampler.start()
                    self.runtime.mark_started()
                    await self.runtime.registration.start(self.runtime.is_ready)
                except Exception as exc:
                    log.exception("gateway_start_failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.runtime.registration.stop()
                await self.parts.sampler.stop()
                await self.upstreams.close()
                await self.limits.close()
                await self.runtime.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope, receive, send) -> None:
        started = time.perf_counter()
        headers = scope["headers"]
        hmap = {k: v for k, v in headers}
        incoming = hmap.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if valid_request_id(incoming) else new_request_id()
        request_id_var.set(rid)
        extra = [(b"x-request-id", rid.encode())]
        method, path = scope["method"], scope["path"]
        server = None
        if not path.startswith(UNTRACED):
            server = self.spans.start(method, path, hmap.get(b"traceparent"))
            if server.traceparent:
                extra.append((b"traceparent", server.traceparent.encode()))
        service, status = "-", 500
        try:
            if self.pages is not None and is_page_path(path):
                service = "pages"
                status = await self.pages(scope, receive, adding(send, extra))
            else:
                status, _body, service = await self._answer(scope, receive, send, hmap,
                                                            headers, rid, extra)
        finally:
            route = page_route(path, status) if service == "pages" else route_label(
                service, path)
            took = time.perf_counter() - started
            self.duration.labels(method, route, str(status), service).observe(took)
            if server is not None:
                log.info("http_request", method=method, path=path, status=status,
                         upstream=service, ms=round(took * 1000, 1))
                server.end(route, status, {"mercato.upstream.service": service})

    async def _answer(self, scope, receive, send, hmap, headers, rid: str, extra):
        """Route, answer and send the response; (status, body, upstream service)."""
        method, path = scope["method"], scope["path"]
        service = "-"
        try:
            status, out_headers, body, service = await self._route(
                scope, receive, hmap, headers, method, path, extra, rid)
        except Reply as r:
            status, out_headers = r.status, [(b"content-type", PROBLEM_CONTENT_TYPE.encode())]
            out_headers += [(k.lower().encode(), str(v).encode()) for k, v in r.headers.items()]
            body = problem_body(r.status, title(r.status), r.detail, rid)
        except Exception as exc:  # a bug: logged with its request id, answered as a problem
            log.exception("gateway_request_failed", request_id=rid, method=method, path=path,
                          service=service)
            status, out_headers = 500, [(b"content-type", PROBLEM_CONTENT_TYPE.encode())]
            body = problem_body(500, "Internal Server Error",
                                f"the gateway failed: {type(exc).__name__}", rid)
        if (successor := scope.get("mercato.successor")) is not None:
            out_headers = [*out_headers, *self.deprecation.headers(successor)]  # versions.py
        names = {k.lower() for k, _ in out_headers}
        if scope.get("mercato.private") and b"cache-control" not in names:
            out_headers.append((b"cache-control", b"no-store"))  # a user's own answer
        out_headers += [h for h in SECURITY if h[0] not in names]
        if status != 204:
            out_headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status,
                    "headers": out_headers + extra})
        await send({"type": "http.response.body", "body": body})
        if (audit := scope.get("mercato.audit")) is not None:  # after the answer: its status
            client = scope.get("client")  # the address uvicorn resolved (trusted proxies)
            await self.parts.audit.record(audit[0], method, path, status, rid, audit[1],
                                          client[0] if client else "")
        return status, body, service

    async def _route(self, scope, receive, hmap, headers, method, path, extra, rid):
        if path.startswith("/health/") or path == "/metrics":
            return (*await answer_local(self.runtime, method, path, self.metrics,
                                        scope.get("client"), hmap), "gateway")
        if (why := ambiguous(scope.get("raw_path") or path.encode())) is not None:
            raise Reply(400, f"the path {path!r} is ambiguous: it has {why}")
        if method not in ROUTED and method != "HEAD":  # OPTIONS, TRACE, CONNECT, ...
            return await self._allow(scope, method, path)
        method = "GET" if method == "HEAD" else method  # uvicorn sends HEAD no body
        if path in CONTRACT_PATHS:
            return await self._contract(scope, method, path)
        route = resolve(method, path)
        if route is None:
            raise Reply(404, f"no route for {method} {path}")
        if route.successor is not None:  # a deprecated route: every answer says so
            scope["mercato.successor"] = route.successor
        principal = None
        if route.access is not Access.PUBLIC:
            try:
                principal = await self.auth.principal(
                    hmap.get(b"authorization", b"").decode("latin-1"))
            except AuthError as exc:
                if self.limits is not None:  # bad tokens count against the address
                    await self.limits.admit(method, path, scope.get("client"), None)
                raise Reply(401, str(exc), {"WWW-Authenticate": "Bearer"}) from None
            except KeysUnavailable as exc:
                raise Reply(503, str(exc), {"Retry-After": "1"}) from None
            if route.access is Access.ADMIN and not principal.is_admin:
                raise Reply(403, "this route needs the admin role")
            scope["mercato.private"] = True
        body = await read_body(receive, hmap, self.max_body, self.body_timeout)
        if principal is not None and audited(method, route):
            scope["mercato.audit"] = (principal, body)  # recorded once answered (audit.py)
        if self.limits is not None:
            await self.limits.admit(method, path, scope.get("client"), principal, body)
        if route.service is None and storefront_path(path):
            # the service client sends each attempt's own trace context
            sent = {USER_HEADER: bearer_token(hmap[b"authorization"].decode("latin-1")),
                    "X-Request-ID": rid}
            status, kind, payload = await Storefront(self.runtime.client).answer(
                method, path, sent)
            return status, [(b"content-type", kind)], payload, "storefront"
        if route.service is None:
            status, payload = await answer_ops(self.runtime, method, path, self.upstreams,
                                               scope["query_string"], self.parts)
            kind = JSON if status < 400 else PROBLEM_CONTENT_TYPE.encode()
            return status, [(b"content-type", kind)], payload, "gateway"
        qs = scope["query_string"]
        path_qs = scope["raw_path"].decode("latin-1") + ("?" + qs.decode("latin-1") if qs else "")
        client = scope.get("client")
        added = [extra[0]]  # the request id; the trace context is each attempt's own
        added += self._credentials(route.service, hmap.get(b"authorization"))
        if client:
            added.append((b"x-forwarded-for", client[0].encode()))
        repeatable = method == "GET" or b"idempotency-key" in hmap
        try:
            status, out, payload = await self.upstreams.forward(
                route.service, method, path_qs, headers, body, repeatable, added)
        except NoInstance as exc:  # none ready, none answered, breaker open, bulkhead full
            raise Reply(503, str(exc), {"Retry-After": str(exc.retry_after)}) from None
        if status == 405:  # FastAPI names one route's methods; the path may have more
            out = await self.methods.full_allow(path, out)
        return status, out, payload, route.service

    async def _allow(self, scope, method: str, path: str):
        """OPTIONS: 204 with ``Allow``; another method no route takes: 405 with it. Public
        (the methods are the published API's) and rate-limited by address."""
        if self.limits is not None:
            await self.limits.admit(method, path, scope.get("client"), None)
        service, allow = await self.methods.allow(path)
        if method != "OPTIONS":
            raise Reply(405, f"{path} takes {allow}, not {method}", {"Allow": allow})
        return 204, [(b"allow", allow.encode())], b"", service

    async def _contract(self, scope, method: str, path: str):
        """The published API (public_api.py): public, rate-limited by address."""
        if method != "GET":
            raise Reply(405, f"{path} takes GET, HEAD, OPTIONS, not {method}",
                        {"Allow": "GET, HEAD, OPTIONS"})
        if self.limits is not None:
            await self.limits.admit(method, path, scope.get("client"), None)
        status, out, body = await self.contract.answer(path)
        return status, out, body, "gateway"

    def _credentials(self, service: str, authorization: bytes | None) -> list:
        """The gateway's own token for ``service`` and, when the client sent a bearer
        token, that token as the user the request acts for (chassis/web/deps.py); what
        the client sent under these names never reaches a service (proxy.py)."""
        sent = [(b"authorization", b"Bearer " + self.runtime.identity.token(service).encode())]
        scheme, _, token = (authorization or b"").partition(b" ")
        if scheme.lower() == b"bearer" and token.strip():
            sent.append((USER_HEADER.lower().encode(), token.strip()))
        return sent

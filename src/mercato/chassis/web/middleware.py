"""Pure ASGI middleware shared by every service: request id, a server span continuing the
caller's trace, the caller's deadline, body limit, and the request duration histogram.
Pure ASGI (not BaseHTTPMiddleware) because it sits on every request.
"""

from __future__ import annotations

import time
from http import HTTPStatus

from mercato.chassis.calls.routing import canary_var
from mercato.chassis.context import (
    CallerClocks,
    new_request_id,
    request_id_var,
    valid_request_id,
)
from mercato.chassis.logging import get_logger
from mercato.chassis.telemetry.http_metrics import server_duration
from mercato.chassis.telemetry.server_span import ServerSpans
from mercato.chassis.web.errors import PROBLEM_CONTENT_TYPE, problem_body

log = get_logger(__name__)
UNTRACED = ("/health/", "/metrics")  # probes and scrapes: measured, never traced


class RequestContextMiddleware:
    """Sets and echoes ``X-Request-ID``; runs the request in a server span that continues
    the caller's ``traceparent`` and answers with its own; refuses with 503 a request whose
    caller's deadline (``X-Mercato-Deadline``) passed while it waited, refuses bodies over
    the limit with 413, and records the duration per route template and status."""

    def __init__(self, app, *, service: str, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body_bytes
        self.spans = ServerSpans("mercato.http")
        self.duration = server_duration()
        self.clocks = CallerClocks()  # callers' deadlines read on this process's clock

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if valid_request_id(incoming) else new_request_id()
        request_id_var.set(rid)
        canary = headers.get(b"x-canary")
        if canary is not None or canary_var.get():
            canary_var.set(canary.decode("latin-1") if canary else "")
        extra = [(b"x-request-id", rid.encode())]
        method, path = scope["method"], scope["path"]
        started = time.perf_counter()
        if path.startswith(UNTRACED):
            status = await self._handle(scope, receive, send, headers, rid, extra, None)
            self._observe(scope, method, status, started)
            return
        server = self.spans.start(method, path, headers.get(b"traceparent"))
        status = 500
        try:
            if server.traceparent:
                extra.append((b"traceparent", server.traceparent.encode()))
            status = await self._handle(scope, receive, send, headers, rid, extra,
                                        server.span)
        finally:
            template = self._observe(scope, method, status, started)
            log.info("http_request", method=method, route=template, status=status,
                     ms=round((time.perf_counter() - started) * 1000, 1))
            server.end(template, status)

    def _observe(self, scope, method: str, status: int, started: float) -> str:
        """Record the duration under the route's template; returns the template."""
        template = getattr(scope.get("route"), "path", "unmatched")
        self.duration.labels(method, template, str(status)).observe(
            time.perf_counter() - started)
        return template

    async def _handle(self, scope, receive, send, headers, rid: str, extra, span) -> int:
        """Serve the request (or refuse it); returns the status answered."""
        status_holder = [500]
        response_started = [False]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                response_started[0] = True
                status_holder[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        length = headers.get(b"content-length")
        deadline = headers.get(b"x-mercato-deadline")
        late = self.clocks.late(deadline, time.time()) if deadline else None
        if late is not None:
            await _problem(send_with_headers, rid, 503, f"the caller stopped waiting "
                           f"{late * 1000:.0f} ms before this request could be handled; "
                           "nothing was done", headers=[(b"retry-after", b"1")])
        elif length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _too_large(send_with_headers, rid, self.max_body)
        else:
            try:
                await self.app(scope, _limited(receive, self.max_body), send_with_headers)
            except Exception as exc:
                # Here, not in Starlette's outer error middleware, so that even a crash
                # answers problem+json with the request id and trace headers.
                log.exception("unhandled_error", path=scope["path"])
                if span is not None:
                    span.record_exception(exc)
                if not response_started[0]:
                    await _problem(send_with_headers, rid, 500,
                                   "an internal error occurred; see the service log")
        return status_holder[0]


class BodyTooLarge(Exception):
    pass


def _limited(receive, limit: int):
    seen = 0

    async def wrapped():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(f"the request body exceeds {limit} bytes")
        return message

    return wrapped


async def _too_large(send, rid: str, limit: int) -> None:
    await _problem(send, rid, 413, f"the request body exceeds {limit} bytes")


async def _problem(send, rid: str, status: int, detail: str,
                   headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = problem_body(status, HTTPStatus(status).phrase, detail, rid)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})

"""The server span of one HTTP request, as the gateway and every service's middleware make
it: started from the caller's ``traceparent`` (or a new trace), active while the request
is served, named ``<METHOD> <route>`` once the route is known, an error at 5xx — and kept
even outside the sample when it is one (``keep.py``)."""

from __future__ import annotations

import time

from mercato.chassis.telemetry.keep import keep_failure
from mercato.chassis.telemetry.tracing import (
    ERROR,
    SpanKind,
    attach,
    detach,
    format_traceparent,
    parse_traceparent,
    start_span,
    tracer,
)


class ServerSpans:
    """``start`` a request's span, ``end`` it with the answer; one per app."""

    def __init__(self, name: str) -> None:
        self.tracer = tracer(name)

    def start(self, method: str, path: str, traceparent: bytes | None) -> ServerSpan:
        return ServerSpan(start_span(
            self.tracer, method, parse_traceparent(traceparent), SpanKind.SERVER,
            {"http.request.method": method, "url.path": path}), method, path)


class ServerSpan:
    """The request's span, made the active one; ``traceparent`` names it for the answer."""

    __slots__ = ("method", "path", "span", "start_ns", "token", "traceparent")

    def __init__(self, span, method: str, path: str) -> None:
        self.span, self.method, self.path = span, method, path
        self.token = attach(span)
        self.start_ns = time.time_ns()
        self.traceparent = format_traceparent(span)

    def end(self, route: str, status: int, attributes: dict | None = None) -> None:
        """Name it after ``route`` (a template, never the raw path), record ``status`` and
        ``attributes``, end it and make the caller's context active again."""
        span = self.span
        name = f"{self.method} {route}"
        if span.is_recording():
            span.update_name(name)
            span.set_attributes({"http.route": route, "http.response.status_code": status,
                                 **(attributes or {})})
        if status >= 500:
            span.set_status(ERROR, f"answered {status}")
            keep_failure(span, name, SpanKind.SERVER, self.start_ns, {
                "http.request.method": self.method, "url.path": self.path,
                "http.route": route, "http.response.status_code": status,
                **(attributes or {})}, f"answered {status}")
        span.end()
        detach(self.token)

"""What one attempt of a call to another service leaves behind: a client span (when the
caller's span records) whose ``traceparent`` the attempt sends, and an observation of
``http_client_request_duration_seconds``. Shared by the service client and the gateway's
proxy, so both describe their calls the same way."""

from __future__ import annotations

import time

from mercato.chassis.calls.registry import Instance
from mercato.chassis.telemetry import (
    ERROR,
    Span,
    SpanKind,
    current_traceparent,
    format_traceparent,
    recording,
    start_span,
    tracer,
)
from mercato.chassis.telemetry.http_metrics import client_duration

_tracer = tracer("mercato.calls")


class Attempt:
    """One attempt: ``traceparent`` is the header to send; ``end`` records the outcome."""

    __slots__ = ("method", "service", "span", "started", "traceparent")

    def __init__(self, service: str, method: str, instance: Instance, resend: int) -> None:
        self.service, self.method = service, method
        if recording():
            attributes = {"http.request.method": method, "server.address": instance.address,
                          "mercato.upstream.service": service,
                          "mercato.upstream.instance": instance.instance_id}
            if resend:
                attributes["http.request.resend_count"] = resend
            self.span: Span | None = start_span(_tracer, f"{method} {service}", None,
                                                SpanKind.CLIENT, attributes)
            self.traceparent = format_traceparent(self.span)
        else:  # not sampled, or no trace: pass on what there is
            self.span, self.traceparent = None, current_traceparent()
        self.started = time.perf_counter()

    def end(self, status: int | None, error: BaseException | None = None) -> None:
        """``status`` answered, or ``error`` when none was (timeout, refused, cancelled)."""
        error_type = "" if error is None else (
            "timeout" if isinstance(error, TimeoutError) else type(error).__name__)
        client_duration().labels(self.service, self.method, str(status or ""),
                                 error_type).observe(time.perf_counter() - self.started)
        span = self.span
        if span is None:
            return
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(ERROR, f"answered {status}")
        else:
            span.set_attribute("error.type", error_type)
            span.set_status(ERROR, f"{error_type}: {error}"[:200])
        span.end()

"""What an operator sees of a process: traces (OpenTelemetry, ``tracing.py``) and
metrics (prometheus-client, ``metrics.py``). See docs/observability.md.

Public API: ``setup_tracing``, ``TracingSettings``, ``tracer``, ``start_span``,
``parse_traceparent``, ``format_traceparent``, ``current_traceparent``, ``link_to``,
``recording``, ``attach``, ``attach_context``, ``detach``, ``annotate``, ``keep_failure``,
``keep_slow``, ``SLOW_CHECKOUT``, ``SpanKind``, ``Status``, ``StatusCode``; and
``scrape_metrics`` (a process's series read at each scrape, metrics.py).
"""

from mercato.chassis.telemetry.metrics import scrape_metrics
from mercato.chassis.telemetry.tracing import (
    ERROR,
    SLOW_CHECKOUT,
    Span,
    SpanKind,
    Status,
    StatusCode,
    TracingSettings,
    annotate,
    attach,
    attach_context,
    current_traceparent,
    detach,
    format_traceparent,
    keep_failure,
    keep_slow,
    link_to,
    parse_traceparent,
    recording,
    setup_tracing,
    start_span,
    tracer,
)

__all__ = [
    "ERROR", "SLOW_CHECKOUT", "Span", "SpanKind", "Status", "StatusCode", "TracingSettings",
    "annotate", "attach", "attach_context", "current_traceparent", "detach", "format_traceparent",
    "keep_failure", "keep_slow", "link_to", "parse_traceparent", "recording", "scrape_metrics",
    "setup_tracing", "start_span", "tracer",
]

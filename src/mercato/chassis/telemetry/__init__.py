"""What an operator sees of a process: traces (OpenTelemetry, ``tracing.py``) and
metrics (prometheus-client, ``metrics.py``). See docs/observability.md.

Public API: ``setup_tracing``, ``TracingSettings``, ``tracer``, ``start_span``,
``parse_traceparent``, ``format_traceparent``, ``current_traceparent``, ``link_to``,
``recording``, ``attach``, ``attach_context``, ``detach``, ``annotate``, ``keep_failure``,
``keep_slow``, ``SLOW_CHECKOUT``, ``SpanKind``, ``Status``, ``StatusCode``; and
``scrape_metrics`` (a process's series read at each scrape, metrics.py).

Loaded on first use (``lazy_loader``), as every face of the chassis: importing one
module of this package does not import the others.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "metrics": ["scrape_metrics"],
    "tracing": ["ERROR", "SLOW_CHECKOUT", "Span", "SpanKind", "Status", "StatusCode",
               "TracingSettings", "annotate", "attach", "attach_context",
               "current_traceparent", "detach", "format_traceparent", "keep_failure",
               "keep_slow", "link_to", "parse_traceparent", "recording", "setup_tracing",
               "start_span", "tracer"],
})

"""Failures kept outside the sample.

With a ratio sampler (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``), a request or a
message that fails in a trace that was not sampled would leave no span at all. The
entrypoints (request middleware, gateway, consumers) hand such a failure to
``keep_failure``: it records the failing span itself, always, as a trace of its own
(attribute ``mercato.kept=error``) linked to the unsampled trace it belongs to, so
``GET /api/v1/ops/traces?error=true`` lists every failure whatever the ratio. What led to
it is not kept (the rest of that trace was never recorded); its logs carry the trace id.
This is the "always sample" flag of docs/observability.md; it costs nothing until
something fails.
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, Tracer

_keeper: list[Tracer] = []  # set once per process by ``install_keeper``


def install_keeper(resource, processor) -> None:
    """Record kept failures with ``processor`` (the process's exporting one), always
    sampled, as ``resource``."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON, shutdown_on_exit=False)
    provider.add_span_processor(processor)
    _keeper[:] = [provider.get_tracer("mercato.kept")]


def keep_failure(span: Span, name: str, kind: SpanKind, start_ns: int, attributes: dict,
                 error: str) -> None:
    """When ``span`` (ended or not) records nothing, record its failure instead: a span
    ``name`` from ``start_ns`` (Unix ns) to now, with ``attributes`` and error ``error``."""
    if not _keeper or span.is_recording():
        return
    ctx = span.get_span_context()
    kept = _keeper[0].start_span(
        name, Context(), kind, {**attributes, "mercato.kept": "error"},
        [Link(ctx)] if ctx.is_valid else None, start_time=start_ns)
    kept.set_status(StatusCode.ERROR, error)
    kept.end()

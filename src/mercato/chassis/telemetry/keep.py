"""Failures and slow checkouts kept outside the sample.

With a ratio sampler (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``), a request or a
message that fails in a trace that was not sampled would leave no span at all. The
entrypoints (request middleware, gateway, consumers) hand such a failure to
``keep_failure``: it records the failing span itself, always, as a trace of its own
(attribute ``mercato.kept=error``) linked to the unsampled trace it belongs to, so
``GET /api/v1/ops/traces?error=true`` lists every failure whatever the ratio. What led to
it is not kept (the rest of that trace was never recorded); its logs carry the trace id.
A checkout slower than ``SLOW_CHECKOUT`` seconds is kept the same way
(``keep_slow``, ``mercato.kept=slow``): one span from the order's placement to its end.
This is the "always sample" flag of docs/observability.md; it costs nothing until
something fails or is slow.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, Tracer

SLOW_CHECKOUT = 2.0  # seconds from placement to confirmation or cancellation
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
    _keep(span, name, kind, start_ns, {**attributes, "mercato.kept": "error"}, error)


def keep_slow(name: str, start_ns: int, attributes: dict) -> None:
    """When the active span records nothing, record a span ``name`` from ``start_ns`` to
    now (a slow checkout's whole time), with ``attributes``."""
    _keep(trace.get_current_span(), name, SpanKind.INTERNAL, start_ns,
          {**attributes, "mercato.kept": "slow"}, None)


def _keep(span: Span, name: str, kind: SpanKind, start_ns: int, attributes: dict,
          error: str | None) -> None:
    if not _keeper or span.is_recording():
        return
    ctx = span.get_span_context()
    kept = _keeper[0].start_span(name, Context(), kind, attributes,
                                 [Link(ctx)] if ctx.is_valid else None, start_time=start_ns)
    if error is not None:
        kept.set_status(StatusCode.ERROR, error)
    kept.end()

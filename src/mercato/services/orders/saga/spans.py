"""The saga's spans: one per forward step attempt (``saga.step <step>``) and one per
compensation or refund step (``saga.compensation <action>``), kind INTERNAL, active while
the participant is called, so the call's client span and the participant's server span are
its children. Attributes ``mercato.order_id``, ``mercato.saga.step``,
``mercato.saga.outcome`` (ok, rejected, transient, unreachable) and ``mercato.saga.detail``;
an error status when the participant refused or failed.

The runner's tasks start from the POST /orders request, so its spans join that request's
trace; a saga resumed after a restart has no trace to join, and its spans start their own.
"""

from __future__ import annotations

from collections.abc import Awaitable

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from mercato.services.orders.saga.participants import Result


def saga_tracer() -> Tracer:
    """The global provider's tracer (the chassis installs the SDK's in every process)."""
    return trace.get_tracer("mercato.orders")


async def traced(tracer: Tracer, kind: str, name: str, order_id: str,
                 call: Awaitable[Result], attempt: int | None = None) -> Result:
    """Await ``call`` (a participant's) inside its span and record what it answered;
    ``kind``: ``step`` or ``compensation``, ``name``: the step or the action."""
    attributes: dict[str, str | int] = {"mercato.order_id": order_id,
                                        "mercato.saga.step": name}
    if attempt is not None:
        attributes["mercato.saga.attempt"] = attempt
    with tracer.start_as_current_span(f"saga.{kind} {name}", kind=SpanKind.INTERNAL,
                                      attributes=attributes) as span:
        result = await call
        outcome(span, result)
        return result


def outcome(span: Span, result: Result) -> None:
    """What the participant answered; an error status unless it was ok."""
    if not span.is_recording():
        return
    span.set_attribute("mercato.saga.outcome", result.outcome)
    if result.detail:
        span.set_attribute("mercato.saga.detail", result.detail[:200])
    if not result.ok:
        span.set_status(Status(StatusCode.ERROR, f"{result.outcome}: {result.detail}"[:200]))

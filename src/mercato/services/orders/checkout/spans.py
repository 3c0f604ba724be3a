"""The saga's spans: one per forward step attempt (``saga.step <step>``) and one per
compensation or refund step (``saga.compensation <action>``), kind INTERNAL, active while
the participant is called and its answer saved, so the call's client span, the
participant's server span and the save's transaction are its children. Attributes
``mercato.order_id``, ``mercato.saga.step``, ``mercato.saga.outcome`` (ok, rejected,
transient, unreachable) and ``mercato.saga.detail``; an error status when the participant
refused or failed.

The runner's tasks start from the POST /orders request, so its spans join that request's
trace; a saga resumed after a restart goes on in that trace too (the saga row keeps it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from mercato.services.orders.domain.answers import Result


def saga_tracer() -> Tracer:
    """The global provider's tracer (the chassis installs the SDK's in every process)."""
    return trace.get_tracer("mercato.orders")


@contextmanager
def saga_span(tracer: Tracer, kind: str, name: str, order_id: str,
              attempt: int | None = None) -> Iterator[Span]:
    """The span of one step attempt or compensation, active while the participant is
    called and what it answered is saved (so the save's transaction, and the outbox
    write of the order's outcome, are its children); ``kind``: ``step`` or
    ``compensation``, ``name``: the step or the action. ``outcome`` records the answer."""
    attributes: dict[str, str | int] = {"mercato.order_id": order_id,
                                        "mercato.saga.step": name}
    if attempt is not None:
        attributes["mercato.saga.attempt"] = attempt
    # attributes set once made, as chassis.telemetry.start_span does (and for its reason)
    with tracer.start_as_current_span(f"saga.{kind} {name}", kind=SpanKind.INTERNAL) as span:
        if span.is_recording():
            span.set_attributes(attributes)
        yield span


def outcome(span: Span, result: Result) -> None:
    """What the participant answered; an error status unless it was ok."""
    if not span.is_recording():
        return
    span.set_attribute("mercato.saga.outcome", result.outcome)
    if result.detail:
        span.set_attribute("mercato.saga.detail", result.detail[:200])
    if not result.ok:
        span.set_status(Status(StatusCode.ERROR, f"{result.outcome}: {result.detail}"[:200]))

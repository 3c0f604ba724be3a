"""One message being handled, and the consumer span it is handled in: a child of the
message's context (the relay's producer span, from the message's ``traceparent`` header,
else the envelope's), with a link to it (OTel messaging conventions), active while the
handler runs; its request id is the envelope's correlation id."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter

from mercato.chassis.context import request_id_var
from mercato.chassis.messaging.subscription import NotYet
from mercato.chassis.telemetry import (
    ERROR,
    SpanKind,
    attach,
    detach,
    keep_failure,
    link_to,
    parse_traceparent,
    start_span,
    tracer,
)
from mercato.contracts.envelope import Envelope, Event

_tracer = tracer("mercato.consumer")


@cache
def redeliveries() -> Counter:
    """Messages handled again (a delivery after the first: a NotYet, a failed handler, an
    ack lost in a crash), per durable consumer; made on first use, not at import."""
    return Counter("mercato_consumer_redeliveries", "Deliveries of a message after its "
                   "first, per durable consumer", ["messaging_consumer_group_name"])


@dataclass
class Delivery:
    """A readable message of a fetch, and what became of it (``None``: handled)."""

    msg: object
    envelope: Envelope
    event: Event
    attempt: int
    error: Exception | None = None
    span: object = None  # its consumer span, while it is handled
    started: tuple[int, dict] = (0, {})  # when (Unix ns), and the span's attributes


def begin(d: Delivery, consumer: str) -> object:
    """Start ``d``'s consumer span (``consumer``: the durable's name) and make it the active
    one, with the message's request id; returns the token for ``end``."""
    envelope = d.envelope
    request_id_var.set(envelope.correlation_id or envelope.id)
    if d.attempt > 1:
        redeliveries().labels(consumer).inc()
    headers = getattr(d.msg, "headers", None) or {}
    parent = parse_traceparent(headers.get("traceparent") or envelope.traceparent)
    attributes = {"messaging.system": "nats", "messaging.operation.type": "process",
                  "messaging.destination.name": envelope.subject,
                  "messaging.message.id": envelope.id,
                  "messaging.consumer.group.name": consumer,
                  "messaging.message.delivery_count": d.attempt,
                  "mercato.event.type": envelope.type}
    order_id = envelope.payload.get("order_id")
    if isinstance(order_id, str):
        attributes["mercato.order_id"] = order_id
    links = [link_to(parent)] if parent is not None else None
    d.span = start_span(_tracer, f"process {envelope.subject}", parent, SpanKind.CONSUMER,
                        attributes, links)
    d.started = (time.time_ns(), attributes)
    return attach(d.span)


def end(d: Delivery, token: object) -> None:
    """End ``d``'s span with its outcome: a ``NotYet`` is an outcome (it waits for another
    event), any other error an error status — kept even outside the sample."""
    span = d.span
    if d.error is not None:
        if isinstance(d.error, NotYet):
            span.set_attribute("mercato.outcome", "not_yet")
        else:
            error = f"{type(d.error).__name__}: {d.error}"[:200]
            span.record_exception(d.error)
            span.set_status(ERROR, error)
            keep_failure(span, f"process {d.envelope.subject}", SpanKind.CONSUMER,
                         *d.started, error)
    span.end()
    detach(token)

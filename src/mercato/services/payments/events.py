"""The integration event of each payment status, and its deterministic id.

A payment reaches each status at most once (the transitions only go forward), so the id
of the event is derived from the payment id and the status: a retried or duplicated
command can never record two different events for one transition, and the outbox drops a
second row with the same id.
"""

from __future__ import annotations

import uuid

from mercato.contracts.envelope import Event
from mercato.contracts.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
    PaymentVoided,
)
from mercato.services.payments.domain import Payment, Status

EVENT_NAMESPACE = uuid.UUID("bc2267c6-bca7-43b8-ac1f-3e39b091554d")
EVENTS = {
    Status.AUTHORIZED: PaymentAuthorized,
    Status.CAPTURED: PaymentCaptured,
    Status.VOIDED: PaymentVoided,
    Status.REFUNDED: PaymentRefunded,
    Status.FAILED: PaymentFailed,
}


def transition_event_id(payment_id: str, status: Status) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{payment_id}/{status}"))


def payment_event(payment: Payment) -> Event:
    """The event that says ``payment`` reached its current status."""
    fields = dict(payment_id=payment.id, order_id=payment.order_id,
                  customer_id=payment.customer_id, amount=payment.amount,
                  currency=payment.currency)
    if payment.status is Status.FAILED:
        return PaymentFailed(**fields, reason=payment.failure_reason or "declined")
    return EVENTS[payment.status](**fields)

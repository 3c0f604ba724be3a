"""Payments' part in a choreographed refund of a delivered order (docs/choreography.md):
on OrderRefundRequested it gives the capture back with the same command the orchestrator
calls (``Payments.refund``, same payment id), which publishes PaymentRefunded; orders then
records the order refunded. A redelivered request finds the payment refunded: nothing
happens twice. An orchestrated order's request is left to orders, which calls the refund
itself."""

from __future__ import annotations

from mercato.chassis.data import Connection
from mercato.chassis.logging import get_logger
from mercato.chassis.telemetry import annotate
from mercato.contracts.envelope import Envelope
from mercato.contracts.ids import payment_id
from mercato.contracts.orders import OrderRefundRequested
from mercato.services.payments.domain import IllegalTransition, Status
from mercato.services.payments.handlers import Payments

log = get_logger(__name__)


class RefundReactions:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments

    async def on_refund_requested(self, _tx: Connection | None, envelope: Envelope,
                                  event: OrderRefundRequested) -> None:
        if event.checkout != "choreography":
            return  # the orchestrator refunds this order itself
        annotate({"mercato.saga.step": "refund_payment"})
        try:
            await self.payments.refund(payment_id(event.order_id))
        except IllegalTransition as exc:
            if exc.status is not Status.REFUNDED:
                raise  # not captured: a bug or a fact out of order, the event is retried
            log.info("refund_already_made", order_id=event.order_id)

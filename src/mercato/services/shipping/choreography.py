"""Shipping's part in a choreographed checkout (docs/choreography.md): it remembers the
address and lines from OrderPlaced, schedules on PaymentAuthorized (ShipmentScheduled, or
ShipmentFailed when it cannot), and on OrderCancelling cancels (a tombstone if nothing was
scheduled yet, so a late PaymentAuthorized ships nothing) and says so
(ShippingCheckoutUndone).

Scheduling is the orchestrator's command with the same shipment id, so it is idempotent by
itself; the reactions run in their own transactions.
"""

from __future__ import annotations

from mercato.chassis import Database
from mercato.chassis.clock import iso
from mercato.chassis.data import Connection
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import NotYet
from mercato.chassis.telemetry import annotate
from mercato.contracts.envelope import Envelope
from mercato.contracts.ids import shipment_id
from mercato.contracts.orders import OrderCancelling, OrderPlaced
from mercato.contracts.payments import PaymentAuthorized
from mercato.contracts.shipping import ShipmentFailed, ShippingCheckoutUndone
from mercato.services.shipping.domain import (
    Address,
    AlreadyCancelled,
    AlreadyDelivered,
    Item,
    NotDeliverable,
    ShippingError,
)
from mercato.services.shipping.handlers import Schedule, Shipping, transition_event_id
from mercato.services.shipping.ports import CheckoutIntent

log = get_logger(__name__)


class CheckoutReactions:
    def __init__(self, shipping: Shipping, db: Database) -> None:
        self.shipping = shipping
        self.db = db

    async def on_order(self, _tx: Connection | None, envelope: Envelope,
                       event: OrderPlaced | OrderCancelling) -> None:
        if isinstance(event, OrderCancelling):
            annotate({"mercato.saga.step": "cancel_shipment"})
            sid = shipment_id(event.order_id)
            try:
                cancelled = await self.shipping.cancel(sid)
                outcome = "nothing" if cancelled is None else "cancelled"
            except AlreadyDelivered:  # too late to call back: `mercato verify` names it
                log.warning("cancelled_order_already_delivered", order_id=event.order_id)
                outcome = "delivered"
            async with self.db.transaction() as tx:
                await self.shipping.outbox.add(tx, ShippingCheckoutUndone(
                    order_id=event.order_id, shipment_id=sid, outcome=outcome),
                    event_id=transition_event_id(sid, "undone"))
            return
        intent = CheckoutIntent(
            customer_id=event.customer_id, address=dict(event.shipping_address or {}),
            items=[{"product_id": x.product_id, "quantity": x.quantity} for x in event.items],
            checkout=event.checkout)
        async with self.db.transaction() as tx:
            await self.shipping.store.add_checkout_intent(tx, event.order_id, intent,
                                                          iso(self.shipping.clock()))

    async def on_payment_authorized(self, _tx: Connection | None, envelope: Envelope,
                                    event: PaymentAuthorized) -> None:
        intent = await self.shipping.store.checkout_intent(event.order_id)
        if intent is None:
            raise NotYet(f"OrderPlaced of order {event.order_id} not heard yet")
        if intent.checkout != "choreography":
            return  # the orchestrator schedules this order's shipment
        annotate({"mercato.saga.step": "schedule_shipment"})
        sid = shipment_id(event.order_id)
        try:
            cmd = _schedule(sid, event.order_id, intent)
        except (ShippingError, TypeError) as exc:  # an address orders should have refused
            await self._failed(sid, event.order_id, intent.customer_id, "invalid_address",
                               str(exc))
            return
        try:
            await self.shipping.schedule(cmd)
        except NotDeliverable as exc:
            await self._failed(sid, event.order_id, intent.customer_id, "not_deliverable",
                               str(exc))
        except AlreadyCancelled:  # the order's cancel came first: settled, nothing ships
            pass
        # Any other refusal (a mismatch, a broken rule, no tracking number) is raised:
        # the event is delivered again.

    async def _failed(self, sid: str, order_id: str, customer_id: str, reason: str,
                      detail: str) -> None:
        log.info("shipment_refused", order_id=order_id, reason=reason, detail=detail)
        annotate({"mercato.saga.outcome": reason}, error=f"{reason}: {detail}")
        async with self.db.transaction() as tx:
            await self.shipping.outbox.add(tx, ShipmentFailed(
                shipment_id=sid, order_id=order_id, customer_id=customer_id, reason=reason,
                detail=detail), event_id=transition_event_id(sid, "failed"))


def _schedule(sid: str, order_id: str, intent: CheckoutIntent) -> Schedule:
    address = intent.address
    return Schedule(
        shipment_id=sid, order_id=order_id, customer_id=intent.customer_id,
        address=Address(**{**address, "country": str(address.get("country", "")).upper()}),
        items=tuple(Item(**i) for i in intent.items))

"""Inventory's part in a choreographed checkout (docs/choreography.md): it reserves on
OrderPlaced, commits on PaymentCaptured, and on OrderCancelling undoes its part (release,
or return sold goods, or a tombstone if nothing was reserved yet) and says so
(InventoryCheckoutUndone).

Each reaction calls the same command as the orchestrator's HTTP call, with the same
reservation id (derived from the order id), so it is idempotent by itself and runs in its
own transactions (``own_transaction`` subscriptions). A refused reservation publishes
StockReservationFailed from ``reserve`` itself; a commit refused because the reservation
expired needs nothing more, since the expiry published StockReleased (``expired``).
"""

from __future__ import annotations

from mercato.chassis.logging import get_logger
from mercato.chassis.telemetry import annotate
from mercato.contracts.envelope import Envelope
from mercato.contracts.ids import reservation_id
from mercato.contracts.inventory import InventoryCheckoutUndone
from mercato.contracts.orders import OrderCancelling, OrderPlaced
from mercato.contracts.payments import PaymentCaptured
from mercato.services.inventory.domain import (
    AlreadyCancelled,
    OutOfStock,
    ReservationConflict,
    Status,
)
from mercato.services.inventory.events import event_id
from mercato.services.inventory.handlers import Inventory

log = get_logger(__name__)
# Refusals that may be the outcome (already published, or nothing left to do), not
# failures: out of stock, already cancelled, and the conflicts of these kinds.
REFUSALS = (OutOfStock, AlreadyCancelled, ReservationConflict)
SETTLED_CONFLICTS = {"already-cancelled", "reservation-expired", "not-reserved",
                     "already-committed", "already-released"}


def _outcome(exc: Exception) -> str | None:
    """The outcome a refusal settles the step with (its published kind), or None if it
    does not settle it."""
    if isinstance(exc, OutOfStock):
        return "out-of-stock"
    if isinstance(exc, AlreadyCancelled):
        return "already-cancelled"
    if isinstance(exc, ReservationConflict) and exc.kind in SETTLED_CONFLICTS:
        return exc.kind
    return None


class CheckoutReactions:
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    async def on_order(self, _tx: None, envelope: Envelope,
                       event: OrderPlaced | OrderCancelling) -> None:
        rid = reservation_id(event.order_id)
        if isinstance(event, OrderCancelling):
            annotate({"mercato.saga.step": "release_stock"})
            await self.undo(event.order_id, rid)
            return
        if event.checkout != "choreography":
            return  # the orchestrator reserves for this order
        annotate({"mercato.saga.step": "reserve_stock"})
        try:
            await self.inventory.reserve(
                rid, event.order_id, [(x.product_id, x.quantity) for x in event.items])
        except REFUSALS as exc:
            _settled_or_raise(exc, "OrderPlaced", event.order_id)

    async def undo(self, order_id: str, rid: str) -> None:
        async with self.inventory.db.transaction() as tx:
            before = await self.inventory.reservations.get(rid, tx)
        if before is not None and before.status in (Status.COMMITTED, Status.RETURNED):
            await self.inventory.return_goods(rid)  # the goods were sold: bring them back
            outcome = "returned"
        else:
            held = before is not None and before.status in (Status.RESERVED, Status.EXPIRED)
            outcome = "released" if held else "nothing"
            try:
                await self.inventory.release(rid)
            except ReservationConflict as exc:  # committed since it was read
                if exc.kind != "already-committed":
                    raise
                await self.inventory.return_goods(rid)
                outcome = "returned"
        async with self.inventory.db.transaction() as tx:
            await self.inventory.outbox.add(tx, InventoryCheckoutUndone(
                order_id=order_id, reservation_id=rid, outcome=outcome),
                event_id=event_id(rid, "undone"))

    async def on_payment_captured(self, _tx: None, envelope: Envelope,
                                  event: PaymentCaptured) -> None:
        annotate({"mercato.saga.step": "confirm_order"})
        try:
            await self.inventory.commit(reservation_id(event.order_id))
        except REFUSALS as exc:
            _settled_or_raise(exc, "PaymentCaptured", event.order_id)


def _settled_or_raise(exc: Exception, heard: str, order_id: str) -> None:
    """A refusal that is an outcome ends the reaction; anything else (a transient error,
    a bug) propagates and the event is redelivered."""
    kind = _outcome(exc)
    if kind is None:
        raise exc
    detail = str(exc)
    annotate({"mercato.saga.outcome": kind},
             error=f"{kind}: {detail}" if kind == "out-of-stock" else None)
    log.info("checkout_step_refused", heard=heard, order_id=order_id, kind=kind,
             detail=detail)

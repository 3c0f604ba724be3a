"""Orders in a choreographed checkout (docs/choreography.md): it hears the participants'
events, records them on the saga row and moves the order, in the consumer's transaction
(order event, saga row, published event and inbox row commit together).

StockCommitted confirms the order. A refusal, an expired reservation or the customer calls
the checkout off: OrderCancelling is published and every participant undoes its own part
and says so; when all three have, the order is cancelled (OrderCancelled). So a cancelled
order means, in both modes, that nothing of it is held or charged any more.
"""

from __future__ import annotations

from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.chassis.telemetry import annotate
from mercato.contracts.envelope import Envelope, Event
from mercato.services.orders.adapters.events import publish, publish_cancelling
from mercato.services.orders.adapters.store import order_lock
from mercato.services.orders.domain.choreography import (
    all_undone,
    call_off,
    heard,
    refunded,
    step_of,
)
from mercato.services.orders.domain.order import Order, Reason, Status
from mercato.services.orders.domain.saga import CheckoutSaga, Phase
from mercato.services.orders.metrics import CheckoutMetrics, checkout_metrics, finished
from mercato.services.orders.ports import OrderRepository

log = get_logger(__name__)


class ChoreographyTracker:
    def __init__(self, store: OrderRepository, outbox: Outbox, clock: Clock, *,
                 metrics: CheckoutMetrics | None = None) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.metrics = metrics or checkout_metrics()

    async def on_event(self, tx: Connection | None, envelope: Envelope, event: Event) -> None:
        assert tx is not None, "the tracker runs in the consumer's transaction"
        order_id = getattr(event, "order_id", "")
        # Participants' events for one order arrive on several consumers at once: on
        # PostgreSQL two would read the same saga version and one lose its save
        # (SagaConflict, redelivered); the order's lock makes them wait their turn.
        await tx.lock(order_lock(order_id))
        order = await self.store.get_order(order_id, tx)
        saga = await self.store.get_saga(order_id, tx)
        if order is None or saga is None:
            log.warning("checkout_event_for_unknown_order", order_id=order_id,
                        event=envelope.type)
            return
        if saga.mode != "choreography":
            return  # an orchestrated order: its runner hears the participants over HTTP
        annotate({"mercato.saga.step": step_of(envelope.type)})
        now, before = iso(self.clock()), finished(saga)
        card_was_needed, was_over = saga.needs_card, saga.finished
        verdict = heard(saga, envelope.type, now, reason=getattr(event, "reason", None),
                        detail=getattr(event, "outcome", None) or getattr(event, "detail", None)
                        or None)
        changes = order.progressed(verdict.progress, now) if verdict.progress else []
        if verdict.confirm and saga.phase is Phase.FORWARD and order.status is Status.PENDING:
            changes = Order.chain(changes, order.confirm(now))
            saga.phase = Phase.CONFIRMED
        elif verdict.abort and order.status is Status.PENDING and call_off(saga, verdict.abort):
            await publish_cancelling(self.outbox, tx, order, saga.reason)
        changes = Order.chain(changes, _finish(order, saga, now))
        # The sealed card in OrderPlaced's outbox row goes once the payment is authorized
        # or the checkout refused (the event that says so was caused by OrderPlaced, so it
        # was published), or at the latest when the checkout ends, whatever ended it.
        if (card_was_needed and not saga.needs_card) or (saga.finished and not was_over):
            await self.store.forget_sealed_card(tx, order_id)
        await self._save(tx, order, saga, changes, now)
        # measured once the consumer's transaction commits (never for a rolled-back one)
        tx.on_commit(lambda: self.metrics.committed(order, saga, changes, before))
        if changes:
            log.info("checkout_settled", order_id=order_id, heard=envelope.type,
                     status=changes[-1].type)

    async def _save(self, tx: Connection, order: Order, saga: CheckoutSaga, changes: list,
                    now: str) -> None:
        await self.store.save_saga(tx, saga, now)
        if changes:
            await publish(self.outbox, tx, order, changes)
            await self.store.append(tx, changes, expected_version=order.version)  # last


def _finish(order: Order, saga: CheckoutSaga, at: str) -> list:
    """The order's cancellation once every part of its checkout is undone."""
    if saga.phase is not Phase.COMPENSATING or not all_undone(saga):
        return []
    saga.phase = Phase.CANCELLED
    if order.status is Status.CANCELLED:
        return []
    return order.cancel(Reason(saga.reason or Reason.EXPIRED.value), at,
                        refunded=refunded(saga))


async def cancel_now(store: OrderRepository, outbox: Outbox, clock: Clock, order_id: str,
                     ) -> Order | None:
    """A customer's cancellation, choreographed: the checkout is called off at once
    (OrderCancelling), a confirmed order's too, and the order is cancelled when every
    participant has undone its part. Returns the order as it was, or None if it was
    cancelled already; ``AlreadyShipped`` once it is shipped (checked in the transaction
    that calls it off, so a shipment heard meanwhile is never called back)."""
    now = iso(clock())
    async with store.db.transaction() as tx:
        await tx.lock(order_lock(order_id))  # against the courier's news (handlers.py)
        order = await store.get_order(order_id, tx)
        saga = await store.get_saga(order_id, tx)
        if order is None or saga is None or order.status is Status.CANCELLED:
            return None
        order.check_cancellable()  # AlreadyShipped: the courier has it
        if call_off(saga, Reason.CUSTOMER_REQUEST):
            await publish_cancelling(outbox, tx, order, saga.reason)
            await store.save_saga(tx, saga, now)
    return order

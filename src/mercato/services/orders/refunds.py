"""The refund of a delivered order: asked for by its customer (within the return window)
or an admin, the capture is given back, then the order is ``refunded`` (OrderRefunded).

The request is recorded with OrderRefundRequested in one transaction. Orchestrated, orders
refunds the payment itself (the participants port, the saga's own refund command): a step
retried by a background worker until payments answers, and resumed after a crash from the
open requests. Choreographed, payments reacts to OrderRefundRequested and says
PaymentRefunded, which completes it here. Either way the order's refund is appended under
the order's lock, once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection
from mercato.chassis.errors import NotFound
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.chassis.security import Principal
from mercato.chassis.worker import RunsOnWorker, Worker
from mercato.contracts.envelope import Envelope
from mercato.contracts.payments import PaymentRefunded
from mercato.services.orders.adapters.events import publish, publish_refund_requested
from mercato.services.orders.adapters.store import order_lock
from mercato.services.orders.domain.order import Order, Status
from mercato.services.orders.ports import OrderRepository, Participants, RefundRequestRepository

log = get_logger(__name__)
BATCH = 50


@dataclass
class Refunds:
    store: OrderRepository
    requests: RefundRequestRepository
    participants: Participants
    outbox: Outbox
    clock: Clock
    window: timedelta  # the customer's return window after the delivery
    mode: str = "orchestration"
    # set after a commit that recorded an orchestrated request; the refund step waits on it
    asked: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def request(self, caller: Principal, order_id: str) -> Order:
        """The order, refunded or on its way to be; ``NotFound`` for another's order,
        ``NotRefundable`` for one not delivered or past the window (not for an admin)."""
        order = await self.store.get_order(order_id)
        if order is None or not (caller.is_admin or order.customer_id == caller.subject):
            raise NotFound(f"order {order_id} was not found")
        async with self.store.db.transaction() as tx:
            await tx.lock(order_lock(order_id))
            current = await self.store.get_order(order_id, tx)
            current.check_refundable(self.clock(), None if caller.is_admin else self.window)
            if current.status is Status.DELIVERED and await self.requests.add(
                    tx, order_id, self.mode, iso(self.clock())):
                await publish_refund_requested(self.outbox, tx, current, self.mode)
                if self.mode == "orchestration":
                    tx.on_commit(self.asked.set)
        return current

    async def complete(self, tx: Connection, order_id: str) -> bool:
        """The payment was given back: the order is refunded (once); False if it was not
        asked to be (a refund of a cancelled checkout)."""
        await tx.lock(order_lock(order_id))
        if not await self.requests.is_open(tx, order_id):
            return False
        order = await self.store.get_order(order_id, tx)
        now = iso(self.clock())
        changes = order.refund(now)
        if changes:
            await publish(self.outbox, tx, order, changes)
            await self.store.append(tx, changes, expected_version=order.version)  # last
        await self.requests.close(tx, order_id, now)
        return True

    async def on_payment_refunded(self, tx: Connection, envelope: Envelope,
                                  event: PaymentRefunded) -> None:
        """Choreographed: payments gave the capture back."""
        await self.complete(tx, event.order_id)

    async def refund_open(self) -> float | None:
        """Orchestrated: one pass of the refund step over the open requests; a refund
        payments could not make yet is tried again on the next pass (the worker's backoff)."""
        failed = []
        for order_id in await self.requests.open_ones("orchestration", BATCH):
            order = await self.store.get_order(order_id)
            result = await self.participants.refund_payment(order)
            if not (result.ok and result.refunded):
                failed.append(f"{order_id}: {result.outcome} {result.detail}".strip())
                continue
            async with self.store.db.transaction() as tx:
                await self.complete(tx, order_id)
        if failed:
            raise RuntimeError(f"refunds not made yet: {'; '.join(failed[:3])}")
        return None


class RefundStep(RunsOnWorker):
    """The orchestrated refund step's background worker (woken by ``Refunds.asked``)."""

    def __init__(self, refunds: Refunds, *, poll: float = 5.0) -> None:
        self.worker = Worker("orders-refunds", refunds.refund_open, poll=poll,
                             wakeup=refunds.asked, failed="refund_step_failed")

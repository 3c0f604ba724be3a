"""The simulated courier: a background worker that moves released shipments along.

Its state is the shipments table (each shipment's status and ``due_at``), so a restart
resumes where it stopped: a step that came due while the process was down is taken at the
next pass. Each step is one transaction: the shipment's new status (a compare-and-set, so
two shipping instances never take the same step twice) and its event through the outbox
(ShipmentLabelled, ShipmentDispatched, ShipmentDelivered), whose id is derived from the
shipment and the status, as for every shipping transition.

It wakes when an order's confirmation released a shipment, and otherwise sleeps until the
earliest due step (at most ``poll`` seconds, to notice the work of another instance).
"""

from __future__ import annotations

from datetime import datetime

from mercato.chassis.logging import get_logger
from mercato.chassis.worker import Worker
from mercato.contracts.envelope import Event
from mercato.contracts.shipping import ShipmentDelivered, ShipmentDispatched, ShipmentLabelled
from mercato.services.shipping.domain import Shipment, Status, iso_text, stamp
from mercato.services.shipping.handlers import Shipping, transition_event_id

log = get_logger(__name__)
BACKOFF = (0.5, 1.0, 2.0, 5.0)


def step_event(shipment: Shipment, at: datetime) -> Event:
    """The integration event of the courier step that brought ``shipment`` to its status."""
    kind, when = {Status.LABELLED: (ShipmentLabelled, "labelled_at"),
                  Status.IN_TRANSIT: (ShipmentDispatched, "dispatched_at"),
                  Status.DELIVERED: (ShipmentDelivered, "delivered_at")}[shipment.status]
    return kind(shipment_id=shipment.id, order_id=shipment.order_id,
                customer_id=shipment.customer_id, tracking_number=shipment.tracking_number,
                **{when: iso_text(at)})


async def move_due(shipping: Shipping, batch: int = 100) -> int:
    """Take every courier step due now, each in its own transaction; how many were taken."""
    moved = 0
    while ids := await shipping.store.due(stamp(shipping.clock()), batch):
        taken = 0
        for shipment_id in ids:
            taken += await move_one(shipping, shipment_id)
        moved += taken
        if not taken:  # all taken by another instance meanwhile; it will go on
            break
    return moved


async def move_one(shipping: Shipping, shipment_id: str) -> bool:
    """One courier step of one shipment, if it is still due; True if taken."""
    at = shipping.clock()
    async with shipping.db.transaction() as tx:
        await shipping.store.lock(tx, shipment_id)  # a cancel must not overwrite the step
        shipment = await shipping.store.get(shipment_id, tx)
        if shipment is None:
            return False
        after = shipment.advance(at, shipping.courier)
        if after is shipment or not await shipping.store.save_move(tx, shipment, after):
            return False  # cancelled, not due, or moved by someone else
        await shipping.outbox.add(tx, step_event(after, at),
                                  event_id=transition_event_id(after.id, after.status))
    log.info("courier_step", shipment_id=shipment_id, order_id=after.order_id,
             status=str(after.status))
    return True


class Courier:
    """The courier's background worker (chassis ``Worker``): a pass moves every due step,
    then it sleeps until the earliest next one, woken by a release."""

    def __init__(self, shipping: Shipping, *, poll: float = 5.0,
                 backoff: tuple[float, ...] = BACKOFF) -> None:
        self.shipping = shipping
        self.poll = poll
        self.moved = 0
        self.worker = Worker("shipping-courier", self._pass, poll=poll,
                             wakeup=shipping.released, backoff=backoff,
                             failed="courier_pass_failed")

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    async def _pass(self) -> float:
        self.moved += await move_due(self.shipping)
        return await self._until_next()

    async def _until_next(self) -> float:
        """Seconds until the earliest due step, at most ``poll``."""
        due = await self.shipping.store.next_due()
        if due is None:
            return self.poll
        seconds = (datetime.fromisoformat(due) - self.shipping.clock()).total_seconds()
        return min(self.poll, max(0.01, seconds))

"""Shipping commands and queries: load, apply the domain, store.

Scheduling is idempotent by shipment id, and a cancel that arrives before its schedule
leaves a tombstone so the late schedule is refused instead of shipping a cancelled order.
ShipmentScheduled and ShipmentCancelled are recorded in the outbox in the transaction that
stores the change, with ids derived from the shipment id and the transition. OrderConfirmed
releases the order's shipment to the courier (courier.py), which moves it from there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from mercato.chassis import Database, Principal
from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.contracts.envelope import Envelope
from mercato.contracts.ids import shipment_id as shipment_of
from mercato.contracts.orders import OrderConfirmed
from mercato.contracts.shipping import ShipmentCancelled, ShipmentScheduled
from mercato.services.shipping.domain import (
    Address,
    AlreadyCancelled,
    CourierSchedule,
    IdempotencyMismatch,
    Item,
    NoTrackingNumber,
    Shipment,
    Status,
    check_deliverable,
)
from mercato.services.shipping.ports import ShipmentRepository, Tombstoned, TrackingNumberTaken

log = get_logger(__name__)
TRACKING_ATTEMPTS = 5
EVENT_NAMESPACE = uuid.UUID("e719fae3-29a6-4584-9169-212447db6f58")


def transition_event_id(shipment_id: str, status: Status) -> str:
    """A shipment reaches each status once, so one transition has one event id."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{shipment_id}/{status}"))


@dataclass(frozen=True)
class Schedule:
    shipment_id: str
    order_id: str
    customer_id: str
    address: Address
    items: tuple[Item, ...]


@dataclass
class Shipping:
    """The shipping handlers, with their dependencies."""

    db: Database
    store: ShipmentRepository
    outbox: Outbox
    blocked_countries: frozenset[str]
    clock: Clock
    new_tracking_number: Callable[[], str]
    courier: CourierSchedule = field(default_factory=CourierSchedule)
    # Set after a commit that released a shipment; the courier waits on it.
    released: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def facts(self) -> dict:
        """What ``mercato verify`` reads of shipping: every shipment's order and status."""
        return {"shipments": await self.store.summaries()}

    async def schedule(self, cmd: Schedule) -> Shipment:
        """The shipment scheduled (or the one a repeat names). Raises ``AlreadyCancelled``,
        ``IdempotencyMismatch``, ``NotDeliverable``, a ``ShippingError`` for a shipment
        the rules refuse, ``NoTrackingNumber`` when every tracking number tried clashed."""
        if await self.store.is_tombstoned(cmd.shipment_id):
            raise AlreadyCancelled(cmd.shipment_id)
        existing = await self.store.get(cmd.shipment_id)
        if existing:
            return _repeat(existing, cmd)
        check_deliverable(cmd.address, self.blocked_countries)
        for _ in range(TRACKING_ATTEMPTS):
            now = iso(self.clock())
            try:
                shipment = Shipment(
                    id=cmd.shipment_id, order_id=cmd.order_id, customer_id=cmd.customer_id,
                    address=cmd.address, items=cmd.items, status=Status.SCHEDULED,
                    tracking_number=self.new_tracking_number(), created_at=now, updated_at=now,
                )
                async with self.db.transaction() as tx:
                    stored, created = await self.store.add(tx, shipment)
                    if created:
                        await self.outbox.add(tx, ShipmentScheduled(
                            shipment_id=shipment.id, order_id=shipment.order_id,
                            customer_id=shipment.customer_id,
                            tracking_number=shipment.tracking_number,
                        ), event_id=transition_event_id(shipment.id, shipment.status))
            except Tombstoned:
                raise AlreadyCancelled(cmd.shipment_id) from None
            except TrackingNumberTaken:
                continue
            return stored if created else _repeat(stored, cmd)
        raise NoTrackingNumber()

    async def cancel(self, shipment_id: str) -> Shipment | None:
        """The cancelled shipment, or None when the id was unknown and is now a tombstone.
        Raises ``AlreadyDelivered`` when it is too late."""
        now = iso(self.clock())
        async with self.db.transaction() as tx:
            await self.store.lock(tx, shipment_id)  # its status is read, then written
            shipment = await self.store.get(shipment_id, tx)
            if shipment is None:  # a tombstone is no transition: nothing to publish
                await self.store.add_tombstone(tx, shipment_id, now)
                return None
            after = shipment.cancelled(now)
            if after is not shipment:
                await self.store.save_status(tx, after)
                await self.outbox.add(tx, ShipmentCancelled(
                    shipment_id=after.id, order_id=after.order_id,
                    customer_id=after.customer_id,
                ), event_id=transition_event_id(after.id, after.status))
            return after

    async def on_order_confirmed(self, tx: Connection, _envelope: Envelope,
                                 event: OrderConfirmed) -> None:
        """The order is confirmed (captured, stock committed), in either checkout mode:
        its shipment may start moving. Only this fact releases it, so nothing of an order
        still being checked out, or cancelled, ever moves."""
        await self.store.lock(tx, shipment_of(event.order_id))
        shipment = await self.store.get(shipment_of(event.order_id), tx)
        if shipment is None:  # scheduled before any confirmation, so never expected
            log.warning("confirmed_order_without_shipment", order_id=event.order_id)
            return
        after = shipment.release(self.clock(), self.courier)
        if after is not shipment and await self.store.save_move(tx, shipment, after):
            tx.on_commit(self.released.set)

    async def shipments_of_order(self, order_id: str, caller: Principal) -> list[Shipment]:
        shipments = await self.store.for_order(order_id)
        if caller.is_admin:
            return shipments
        # Only the caller's: another's order lists nothing, as one that does not exist
        # does (a 404 would tell which order ids are real: no existence oracle).
        return [s for s in shipments if s.customer_id == caller.subject]


def _repeat(existing: Shipment, cmd: Schedule) -> Shipment:
    if not existing.same_request(cmd.order_id, cmd.customer_id):
        raise IdempotencyMismatch(cmd.shipment_id)
    if existing.status is Status.CANCELLED:
        raise AlreadyCancelled(existing.id)
    return existing

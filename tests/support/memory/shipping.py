"""``ShipmentRepository`` (services/shipping/ports.py) in memory."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from mercato.chassis.data import Connection, Row
from mercato.services.shipping.domain import Shipment
from mercato.services.shipping.ports import CheckoutIntent, Tombstoned, TrackingNumberTaken
from tests.support.memory import MemoryDatabase


@dataclass
class _State:
    shipments: dict[str, Shipment] = field(default_factory=dict)
    tombstones: dict[str, str] = field(default_factory=dict)  # shipment id -> at
    intents: dict[str, CheckoutIntent] = field(default_factory=dict)  # by order id


class MemoryShipmentRepository:
    """Shipments, tombstones and checkout intents as dicts; the tracking number is unique
    and an intent's first version stays, as the SQL adapter's constraints say."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._state = _State()
        db.attach(self)

    def snapshot(self) -> _State:
        return self._state

    def restore(self, state: _State) -> None:
        self._state = state

    def _oldest_first(self) -> list[Shipment]:
        return sorted(self._state.shipments.values(), key=lambda s: (s.created_at, s.id))

    async def summaries(self) -> list[Row]:
        await self.db.outside()
        return [{"shipment_id": s.id, "order_id": s.order_id, "status": str(s.status)}
                for s in self._oldest_first()]

    async def get(self, shipment_id: str, tx: Connection | None = None) -> Shipment | None:
        if tx is None:
            await self.db.outside()
        return self._state.shipments.get(shipment_id)

    async def is_tombstoned(self, shipment_id: str) -> bool:
        await self.db.outside()
        return shipment_id in self._state.tombstones

    async def for_order(self, order_id: str) -> list[Shipment]:
        await self.db.outside()
        return [s for s in self._oldest_first() if s.order_id == order_id]

    async def add(self, tx: Connection, shipment: Shipment) -> tuple[Shipment, bool]:
        if shipment.id in self._state.tombstones:
            raise Tombstoned(shipment.id)
        stored = self._state.shipments.get(shipment.id)
        if stored is not None:
            return stored, False
        if any(s.tracking_number == shipment.tracking_number
               for s in self._state.shipments.values()):
            raise TrackingNumberTaken(shipment.tracking_number)
        self._state.shipments[shipment.id] = shipment
        return shipment, True

    async def lock(self, tx: Connection, shipment_id: str) -> None:
        await tx.lock("shipment:" + shipment_id)

    async def add_tombstone(self, tx: Connection, shipment_id: str, at: str) -> None:
        self._state.tombstones.setdefault(shipment_id, at)

    async def save_status(self, tx: Connection, shipment: Shipment) -> None:
        stored = self._state.shipments.get(shipment.id)
        if stored is not None:
            self._state.shipments[shipment.id] = replace(
                stored, status=shipment.status, updated_at=shipment.updated_at,
                due_at=shipment.due_at)

    async def save_move(self, tx: Connection, before: Shipment, after: Shipment) -> bool:
        stored = self._state.shipments.get(after.id)
        if stored is None or (stored.status, stored.due_at or "") != (
                before.status, before.due_at or ""):
            return False
        self._state.shipments[after.id] = replace(
            stored, status=after.status, updated_at=after.updated_at,
            released_at=after.released_at, due_at=after.due_at)
        return True

    async def due(self, at: str, limit: int) -> list[str]:
        await self.db.outside()
        waiting = [s for s in self._state.shipments.values()
                   if s.due_at is not None and s.due_at <= at]
        return [s.id for s in sorted(waiting, key=lambda s: (s.due_at or "", s.id))][:limit]

    async def next_due(self) -> str | None:
        await self.db.outside()
        return min((s.due_at for s in self._state.shipments.values() if s.due_at is not None),
                   default=None)

    async def add_checkout_intent(self, tx: Connection, order_id: str,
                                  intent: CheckoutIntent, at: str) -> None:
        self._state.intents.setdefault(order_id, copy.deepcopy(intent))

    async def checkout_intent(self, order_id: str) -> CheckoutIntent | None:
        await self.db.outside()
        return copy.deepcopy(self._state.intents.get(order_id))  # fresh, as a row read is

"""The shipping database: shipments, the tombstones of cancels that came first, and the
checkout intents of choreographed orders (``ShipmentRepository``, ports.py).

Writes take the caller's transaction (``tx``), so the handler stores a shipment and the
event about it together; reads stand alone or join a ``tx``.
"""

from __future__ import annotations

import json

from mercato.chassis import Database
from mercato.chassis.data import Conflict, Connection, Row
from mercato.services.shipping.domain import Address, Item, Shipment, Status
from mercato.services.shipping.ports import CheckoutIntent, Tombstoned, TrackingNumberTaken

COLUMNS = ("id, order_id, customer_id, status, tracking_number, address_name, address_line1,"
           " address_city, address_postal_code, address_country, items, created_at, updated_at,"
           " released_at, due_at")
SELECT = f"SELECT {COLUMNS} FROM shipments"


def _shipment(row: Row) -> Shipment:
    return Shipment(
        id=row["id"], order_id=row["order_id"], customer_id=row["customer_id"],
        address=Address(name=row["address_name"], line1=row["address_line1"],
                        city=row["address_city"], postal_code=row["address_postal_code"],
                        country=row["address_country"]),
        items=tuple(Item(**i) for i in json.loads(row["items"])),
        status=Status(row["status"]), tracking_number=row["tracking_number"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        released_at=row["released_at"], due_at=row["due_at"],
    )


class SqlShipmentRepository:
    """Shipments, tombstones and checkout intents; reads outside a unit of work go
    through ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def summaries(self) -> list[Row]:
        """Every shipment's ``shipment_id``, ``order_id`` and ``status``, oldest first (for
        ``mercato verify``)."""
        return await self.db.fetch_all(
            "SELECT id AS shipment_id, order_id, status FROM shipments ORDER BY created_at, id")

    async def get(self, shipment_id: str, tx: Connection | None = None) -> Shipment | None:
        reader = self.db if tx is None else tx
        row = await reader.fetch_one(f"{SELECT} WHERE id = ?", shipment_id)
        return _shipment(row) if row else None

    async def is_tombstoned(self, shipment_id: str) -> bool:
        row = await self.db.fetch_one(
            "SELECT shipment_id FROM shipment_tombstones WHERE shipment_id = ?", shipment_id)
        return row is not None

    async def for_order(self, order_id: str) -> list[Shipment]:
        rows = await self.db.fetch_all(
            f"{SELECT} WHERE order_id = ? ORDER BY created_at, id", order_id)
        return [_shipment(r) for r in rows]

    async def add(self, tx: Connection, shipment: Shipment) -> tuple[Shipment, bool]:
        """Store a new shipment; the one already stored under that id (and False) if any.

        Raises ``Tombstoned`` when the id was cancelled first; ``TrackingNumberTaken``
        only when the tracking number clashed. Under the shipment's named lock (as
        ``lock``): on PostgreSQL two replicas scheduling one id, or a cancel racing it,
        would otherwise both read "nothing there" and both write.
        """
        await self.lock(tx, shipment.id)
        if await tx.fetch_one(
            "SELECT shipment_id FROM shipment_tombstones WHERE shipment_id = ?", shipment.id,
        ):
            raise Tombstoned(shipment.id)
        row = await tx.fetch_one(f"{SELECT} WHERE id = ?", shipment.id)
        if row:
            return _shipment(row), False
        a = shipment.address
        try:
            async with tx.savepoint("add_shipment"):  # PostgreSQL: the tx goes on after
                await tx.execute(
                    f"INSERT INTO shipments ({COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    shipment.id, shipment.order_id, shipment.customer_id,
                    str(shipment.status), shipment.tracking_number, a.name, a.line1, a.city,
                    a.postal_code, a.country,
                    json.dumps([{"product_id": i.product_id, "quantity": i.quantity}
                                for i in shipment.items]),
                    shipment.created_at, shipment.updated_at, shipment.released_at,
                    shipment.due_at,
                )
        except Conflict as exc:
            row = await tx.fetch_one(f"{SELECT} WHERE id = ?", shipment.id)
            if row:  # the id itself (a writer that did not take the lock): a replay
                return _shipment(row), False
            raise TrackingNumberTaken(shipment.tracking_number) from exc
        return shipment, True

    async def lock(self, tx: Connection, shipment_id: str) -> None:
        """Hold shipment ``shipment_id``'s critical section until ``tx`` ends: taken
        before the read that decides a write (schedule, cancel, a courier step)."""
        await tx.lock("shipment:" + shipment_id)

    async def add_tombstone(self, tx: Connection, shipment_id: str, at: str) -> None:
        """Remember that ``shipment_id`` was cancelled before it was ever scheduled."""
        await tx.execute(
            "INSERT INTO shipment_tombstones (shipment_id, created_at) VALUES (?, ?)"
            " ON CONFLICT (shipment_id) DO NOTHING", shipment_id, at,
        )

    async def save_status(self, tx: Connection, shipment: Shipment) -> None:
        await tx.execute(
            "UPDATE shipments SET status = ?, updated_at = ?, due_at = ? WHERE id = ?",
            str(shipment.status), shipment.updated_at, shipment.due_at, shipment.id)

    async def save_move(self, tx: Connection, before: Shipment, after: Shipment) -> bool:
        """Store a release or a courier step if the row is still as ``before`` (another
        courier may have taken the step first); True if stored."""
        return bool(await tx.execute(
            "UPDATE shipments SET status = ?, updated_at = ?, released_at = ?, due_at = ?"
            " WHERE id = ? AND status = ? AND COALESCE(due_at, '') = ?",
            str(after.status), after.updated_at, after.released_at, after.due_at, after.id,
            str(before.status), before.due_at or ""))

    async def due(self, at: str, limit: int) -> list[str]:
        """Ids of shipments whose next courier step is due at ``at`` (a ``stamp``)."""
        rows = await self.db.fetch_all(
            "SELECT id FROM shipments WHERE due_at IS NOT NULL AND due_at <= ?"
            " ORDER BY due_at, id LIMIT ?", at, limit)
        return [r["id"] for r in rows]

    async def next_due(self) -> str | None:
        """The earliest due time of any courier step (a ``stamp``), if one is waiting."""
        row = await self.db.fetch_one(
            "SELECT MIN(due_at) AS due FROM shipments WHERE due_at IS NOT NULL")
        return row["due"] if row else None

    async def add_checkout_intent(self, tx: Connection, order_id: str,
                                  intent: CheckoutIntent, at: str) -> None:
        """Keep the order's intent; the first one kept stays (a repeat changes nothing)."""
        await tx.execute(
            "INSERT INTO checkout_intents (order_id, customer_id, address, items,"
            " created_at, checkout) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (order_id) DO NOTHING",
            order_id, intent.customer_id, json.dumps(intent.address),
            json.dumps(intent.items), at, intent.checkout)

    async def checkout_intent(self, order_id: str) -> CheckoutIntent | None:
        """The order's kept intent, or None if OrderPlaced was not heard yet."""
        row = await self.db.fetch_one(
            "SELECT customer_id, address, items, checkout FROM checkout_intents"
            " WHERE order_id = ?",
            order_id)
        if row is None:
            return None
        return CheckoutIntent(customer_id=row["customer_id"], address=json.loads(row["address"]),
                              items=json.loads(row["items"]), checkout=row["checkout"])

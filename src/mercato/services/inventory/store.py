"""The inventory's own database: stock rows, the adjustments ledger and reservations.

Writes take the caller's transaction (``tx``); the handler opens it and puts the event
in the outbox in the same one. Stock only ever changes through conditional UPDATEs
(``... WHERE available >= ?``), so two requests can never both take the last unit, whether
they race in one process or in several: the caller checks what each move returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from mercato.chassis import Database
from mercato.chassis.data import Connection, Row
from mercato.services.inventory.domain import Line, Reservation, Status, Stock
from mercato.services.inventory.ports import MOVES, StoredAdjustment

STOCK_COLUMNS = "product_id, on_hand, available, reserved, sold"


class _Short(Exception):
    """Some lines' units were not there: the savepoint undoes the moves made."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines


class SqlStockRepository:
    """Each product's stock levels and the ledger of manual adjustments to them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, product_id: str, tx: Connection | None = None) -> Stock | None:
        row = await (tx or self.db).fetch_one(
            f"SELECT {STOCK_COLUMNS} FROM stock WHERE product_id = ?", product_id)
        return Stock(**row) if row else None

    async def units_reserved(self) -> int:
        """Units of stock reservations hold now, every product together."""
        row = await self.db.fetch_one("SELECT COALESCE(SUM(reserved), 0) AS n FROM stock")
        return int(row["n"]) if row else 0

    async def levels(self, tx: Connection) -> list[Row]:
        """Every product's figures (``product_id``, ``on_hand``, ``available``, ``reserved``,
        ``sold``) by product id, for ``mercato verify``."""
        return await tx.fetch_all(
            "SELECT product_id, on_hand, available, reserved, sold FROM stock"
            " ORDER BY product_id")

    async def lock(self, tx: Connection, product_ids: Iterable[str]) -> None:
        """Hold these products' stock against other writers until ``tx`` ends, taken in
        product id order so that two transactions never wait on each other."""
        for product_id in sorted(set(product_ids)):
            await tx.lock(f"stock:{product_id}")

    async def create(self, tx: Connection, product_id: str, at: str) -> None:
        """A record of zeros, unless the product has one already."""
        await tx.execute(
            "INSERT INTO stock (product_id, on_hand, available, reserved, sold, updated_at)"
            " VALUES (?, 0, 0, 0, 0, ?) ON CONFLICT (product_id) DO NOTHING", product_id, at)

    async def adjust(self, tx: Connection, product_id: str, delta: int, at: str) -> bool:
        """Change on_hand and available by ``delta`` unless available would go negative."""
        count = await tx.execute(
            "UPDATE stock SET on_hand = on_hand + ?, available = available + ?, updated_at = ?"
            " WHERE product_id = ? AND available + ? >= 0",
            delta, delta, at, product_id, delta)
        return count == 1

    async def move(self, tx: Connection, step: str, product_id: str, quantity: int,
                   at: str) -> bool:
        """Move units between columns for a reservation step, only if they are there."""
        source, target = MOVES[step]
        count = await tx.execute(
            f"UPDATE stock SET {source} = {source} - ?, {target} = {target} + ?,"
            f" updated_at = ? WHERE product_id = ? AND {source} >= ?",
            quantity, quantity, at, product_id, quantity)
        return count == 1

    async def move_all(self, tx: Connection, step: str, lines: Sequence[Line],
                       at: str) -> list[Line]:
        """Move every line's units for ``step``, or none of them (a savepoint): the lines
        whose units are not there, and an empty list when all moved."""
        try:
            async with tx.savepoint():
                short = [li for li in lines
                         if not await self.move(tx, step, li.product_id, li.quantity, at)]
                if short:
                    raise _Short(short)
        except _Short as refused:
            return refused.lines
        return []

    async def find_adjustment(self, key: str, tx: Connection | None = None
                              ) -> StoredAdjustment | None:
        row = await (tx or self.db).fetch_one(
            "SELECT fingerprint, result FROM adjustments WHERE idempotency_key = ?", key)
        return _adjustment(row)

    async def record_adjustment(self, tx: Connection, *, adjustment_id: str,
                                product_id: str, delta: int, reason: str, actor: str,
                                key: str | None, fingerprint: str, result: Stock,
                                at: str) -> None:
        await tx.execute(
            "INSERT INTO adjustments (id, product_id, delta, reason, actor, idempotency_key,"
            " fingerprint, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            adjustment_id, product_id, delta, reason, actor, key, fingerprint,
            json.dumps(result.as_dict()), at)


class SqlReservationRepository:
    """Reservations of stock for a checkout, with their lines, refusals and tombstones."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, reservation_id: str, tx: Connection | None = None
                  ) -> Reservation | None:
        source = tx or self.db
        row = await source.fetch_one(
            "SELECT reservation_id, order_id, status, tombstone, refusal, created_at,"
            " expires_at FROM reservations WHERE reservation_id = ?", reservation_id)
        if row is None:
            return None
        items = await source.fetch_all(
            "SELECT product_id, quantity FROM reservation_items WHERE reservation_id = ?"
            " ORDER BY position", reservation_id)
        return Reservation(
            reservation_id=row["reservation_id"], order_id=row["order_id"],
            status=Status(row["status"]),
            lines=tuple(Line(i["product_id"], i["quantity"]) for i in items),
            created_at=row["created_at"], expires_at=row["expires_at"],
            refusal=json.loads(row["refusal"]) if row["refusal"] else None,
            tombstone=bool(row["tombstone"]),
        )

    async def due(self, before: str, limit: int) -> list[str]:
        """Ids of reservations still ``reserved`` whose ``expires_at`` sorts before
        ``before`` (ISO text), oldest deadline first; the caller checks each again."""
        rows = await self.db.fetch_all(
            "SELECT reservation_id FROM reservations WHERE status = ? AND expires_at IS NOT"
            " NULL AND expires_at < ? ORDER BY expires_at, reservation_id LIMIT ?",
            Status.RESERVED.value, before, limit)
        return [r["reservation_id"] for r in rows]

    async def held(self) -> int:
        """Reservations holding stock now (status ``reserved``)."""
        row = await self.db.fetch_one(
            "SELECT COUNT(*) AS n FROM reservations WHERE status = ?", Status.RESERVED.value)
        return int(row["n"]) if row else 0

    async def add(self, tx: Connection, r: Reservation) -> None:
        await tx.execute(
            "INSERT INTO reservations (reservation_id, order_id, status, tombstone, refusal,"
            " created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            r.reservation_id, r.order_id, r.status.value, r.tombstone,
            json.dumps(r.refusal) if r.refusal else None, r.created_at, r.created_at,
            r.expires_at)
        await tx.execute_many(
            "INSERT INTO reservation_items (reservation_id, product_id, position, quantity)"
            " VALUES (?, ?, ?, ?)",
            [(r.reservation_id, li.product_id, n, li.quantity) for n, li in enumerate(r.lines)])

    async def listed(self, tx: Connection) -> list[dict]:
        """Every reservation but the tombstones, with its items in order (for ``mercato
        verify``): ``reservation_id``, ``order_id``, ``status``, ``items``."""
        rows = await tx.fetch_all(
            "SELECT r.reservation_id, r.order_id, r.status, i.product_id, i.quantity"
            " FROM reservations r LEFT JOIN reservation_items i"
            " ON i.reservation_id = r.reservation_id"
            " WHERE NOT r.tombstone ORDER BY r.reservation_id, i.position")
        listed: dict[str, dict] = {}
        for row in rows:
            r = listed.setdefault(row["reservation_id"], {
                "reservation_id": row["reservation_id"], "order_id": row["order_id"],
                "status": row["status"], "items": []})
            if row["product_id"] is not None:
                r["items"].append({"product_id": row["product_id"], "quantity": row["quantity"]})
        return list(listed.values())

    async def set_status(self, tx: Connection, reservation_id: str, status: Status,
                         at: str) -> None:
        await tx.execute(
            "UPDATE reservations SET status = ?, updated_at = ? WHERE reservation_id = ?",
            status.value, at, reservation_id)


def _adjustment(row: Row | None) -> StoredAdjustment | None:
    if row is None:
        return None
    return StoredAdjustment(row["fingerprint"], Stock(**json.loads(row["result"])))

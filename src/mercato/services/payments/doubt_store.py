"""The doubts about the card provider, as ``DoubtRepository`` (ports.py) says, on the
``provider_doubts`` table: one row per payment, opened again by each call in doubt."""

from __future__ import annotations

from mercato.chassis import Database
from mercato.chassis.data import Row

COLUMNS = "payment_id, action, opened_at, settled_at, outcome"


class SqlDoubtRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def doubt(self, payment_id: str, action: str, at: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO provider_doubts (payment_id, action, opened_at) VALUES (?, ?, ?)"
                " ON CONFLICT (payment_id) DO UPDATE SET action = excluded.action,"
                " opened_at = excluded.opened_at, settled_at = NULL, outcome = NULL",
                payment_id, action, at)

    async def due(self, opened_before: str, limit: int) -> list[Row]:
        return await self.db.fetch_all(
            f"SELECT {COLUMNS} FROM provider_doubts WHERE settled_at IS NULL"
            " AND opened_at < ? ORDER BY opened_at, payment_id LIMIT ?", opened_before, limit)

    async def settle(self, payment_id: str, opened_at: str, outcome: str, at: str) -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE provider_doubts SET settled_at = ?, outcome = ? WHERE payment_id = ?"
                " AND opened_at = ? AND settled_at IS NULL", at, outcome, payment_id,
                opened_at)
        return changed == 1

    async def postpone(self, payment_id: str, opened_at: str, to: str) -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE provider_doubts SET opened_at = ? WHERE payment_id = ?"
                " AND opened_at = ? AND settled_at IS NULL", to, payment_id, opened_at)
        return changed == 1

    async def all(self) -> list[Row]:
        return await self.db.fetch_all(
            f"SELECT {COLUMNS} FROM provider_doubts ORDER BY opened_at, payment_id")

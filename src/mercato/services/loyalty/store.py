"""The loyalty database: every customer's ledger (``LedgerRepository``, ports.py)."""

from __future__ import annotations

from mercato.chassis.data import Connection, Database
from mercato.services.loyalty.domain import Entry, Kind

COLUMNS = "customer_id, order_id, cause_event_id, kind, points, at, note"
SELECT = f"SELECT seq, {COLUMNS} FROM ledger_entries"


def _entry(row: dict) -> Entry:
    return Entry(row["customer_id"], row["order_id"], row["cause_event_id"], Kind(row["kind"]),
                 row["points"], row["at"], row["note"])


class SqlLedgerRepository:
    """Ledger entries, one row each, unique by (order, kind)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def of_order(self, tx: Connection, order_id: str) -> list[Entry]:
        rows = await tx.fetch_all(f"{SELECT} WHERE order_id = ? ORDER BY seq", order_id)
        return [_entry(r) for r in rows]

    async def standing(self, tx: Connection, customer_id: str) -> tuple[int, int]:
        row = await tx.fetch_one(
            "SELECT COALESCE(SUM(points), 0) AS balance, COUNT(*) AS entries"
            " FROM ledger_entries WHERE customer_id = ?", customer_id)
        return (int(row["balance"]), int(row["entries"])) if row else (0, 0)

    async def add(self, tx: Connection, entry: Entry) -> bool:
        """An insert that does nothing on a clash: two replicas (or a replay under another
        event id) store one entry per order and kind, never a ``Conflict``."""
        return bool(await tx.execute(
            f"INSERT INTO ledger_entries (id, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (order_id, kind) DO NOTHING",
            entry.id, entry.customer_id, entry.order_id, entry.cause_event_id,
            entry.kind.value, entry.points, entry.at, entry.note))

    async def history(self, customer_id: str, limit: int,
                      before: int | None = None) -> list[tuple[int, Entry]]:
        if before is None:
            rows = await self.db.fetch_all(
                f"{SELECT} WHERE customer_id = ? ORDER BY seq DESC LIMIT ?", customer_id, limit)
        else:
            rows = await self.db.fetch_all(
                f"{SELECT} WHERE customer_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                customer_id, before, limit)
        return [(int(r["seq"]), _entry(r)) for r in rows]

    async def balance_of(self, customer_id: str) -> int:
        row = await self.db.fetch_one(
            "SELECT COALESCE(SUM(points), 0) AS balance FROM ledger_entries"
            " WHERE customer_id = ?", customer_id)
        return int(row["balance"]) if row else 0

    async def summaries(self) -> list[dict]:
        rows = await self.db.fetch_all(
            "SELECT order_id, kind, points FROM ledger_entries ORDER BY seq")
        return [dict(r) for r in rows]

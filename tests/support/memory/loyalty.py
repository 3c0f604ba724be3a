"""``LedgerRepository`` (services/loyalty/ports.py) in memory."""

from __future__ import annotations

from mercato.chassis.data import Connection
from mercato.services.loyalty.domain import Entry
from tests.support.memory import MemoryDatabase


class MemoryLedgerRepository:
    """Entries in a list, each with its position (from 1); one per order and kind, as the
    SQL adapter's unique key says."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._rows: list[tuple[int, Entry]] = []
        db.attach(self)

    def snapshot(self) -> list[tuple[int, Entry]]:
        return list(self._rows)

    def restore(self, state: list[tuple[int, Entry]]) -> None:
        self._rows = state

    async def of_order(self, tx: Connection, order_id: str) -> list[Entry]:
        return [e for _, e in self._rows if e.order_id == order_id]

    async def standing(self, tx: Connection, customer_id: str) -> tuple[int, int]:
        mine = [e.points for _, e in self._rows if e.customer_id == customer_id]
        return sum(mine), len(mine)

    async def add(self, tx: Connection, entry: Entry) -> bool:
        if any((e.order_id, e.kind) == (entry.order_id, entry.kind) for _, e in self._rows):
            return False
        self._rows.append((len(self._rows) + 1, entry))
        return True

    async def history(self, customer_id: str, limit: int,
                      before: int | None = None) -> list[tuple[int, Entry]]:
        await self.db.outside()
        mine = [(seq, e) for seq, e in reversed(self._rows) if e.customer_id == customer_id
                and (before is None or seq < before)]
        return mine[:limit]

    async def balance_of(self, customer_id: str) -> int:
        await self.db.outside()
        return sum(e.points for _, e in self._rows if e.customer_id == customer_id)

    async def summaries(self) -> list[dict]:
        await self.db.outside()
        return [{"order_id": e.order_id, "kind": e.kind.value, "points": e.points}
                for _, e in self._rows]

"""``StockRepository`` and ``ReservationRepository`` (services/inventory/ports.py) in
memory. The transactions of ``MemoryDatabase`` run one at a time, so the stock locks have
nothing to do, and a move checks its figure and changes it with nothing in between, as the
SQL adapter's conditional UPDATE does."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from mercato.chassis.data import Conflict, Connection, Row
from mercato.services.inventory.domain import Line, Reservation, Status, Stock
from mercato.services.inventory.ports import MOVES, StoredAdjustment
from tests.support.memory import MemoryDatabase


class MemoryStockRepository:
    """Stock as a dict of ``Stock`` by product id (its checks stand in for the table's);
    the adjustments ledger as a list in the order written (``ledger`` shows it)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._stock: dict[str, Stock] = {}
        self._ledger: list[dict[str, Any]] = []
        db.attach(self)

    def snapshot(self) -> tuple[dict[str, Stock], list[dict[str, Any]]]:
        return self._stock, self._ledger

    def restore(self, state: tuple[dict[str, Stock], list[dict[str, Any]]]) -> None:
        self._stock, self._ledger = state

    @property
    def ledger(self) -> list[dict[str, Any]]:
        """Every adjustment recorded (``product_id``, ``delta``, ``reason``, ``actor``)."""
        return [{k: a[k] for k in ("product_id", "delta", "reason", "actor")}
                for a in self._ledger]

    async def get(self, product_id: str, tx: Connection | None = None) -> Stock | None:
        if tx is None:
            await self.db.outside()
        return self._stock.get(product_id)

    async def units_reserved(self) -> int:
        await self.db.outside()
        return sum(s.reserved for s in self._stock.values())

    async def levels(self, tx: Connection) -> list[Row]:
        return [self._stock[p].as_dict() for p in sorted(self._stock)]

    async def lock(self, tx: Connection, product_ids: Iterable[str]) -> None:
        return None

    async def create(self, tx: Connection, product_id: str, at: str) -> None:
        self._stock.setdefault(product_id, Stock(product_id, 0, 0, 0, 0))

    async def adjust(self, tx: Connection, product_id: str, delta: int, at: str) -> bool:
        stock = self._stock.get(product_id)
        if stock is None or stock.available + delta < 0:
            return False
        self._stock[product_id] = stock.adjusted(delta)
        return True

    async def move(self, tx: Connection, step: str, product_id: str, quantity: int,
                   at: str) -> bool:
        source, target = MOVES[step]
        stock = self._stock.get(product_id)
        if stock is None or getattr(stock, source) < quantity:
            return False
        self._stock[product_id] = replace(stock, **{
            source: getattr(stock, source) - quantity,
            target: getattr(stock, target) + quantity})
        return True

    async def move_all(self, tx: Connection, step: str, lines: Sequence[Line],
                       at: str) -> list[Line]:
        before = dict(self._stock)  # a savepoint: Stock is frozen, a shallow copy will do
        short = [li for li in lines
                 if not await self.move(tx, step, li.product_id, li.quantity, at)]
        if short:
            self._stock = before
        return short

    async def find_adjustment(self, key: str, tx: Connection | None = None
                              ) -> StoredAdjustment | None:
        if tx is None:
            await self.db.outside()
        for a in self._ledger:
            if a["key"] == key:
                return StoredAdjustment(a["fingerprint"], a["result"])
        return None

    async def record_adjustment(self, tx: Connection, *, adjustment_id: str,
                                product_id: str, delta: int, reason: str, actor: str,
                                key: str | None, fingerprint: str, result: Stock,
                                at: str) -> None:
        for a in self._ledger:  # the primary key and the unique key of the SQL table
            if a["id"] == adjustment_id or (key is not None and a["key"] == key):
                raise Conflict(f"adjustment {adjustment_id} (key {key}) is recorded already")
        self._ledger.append({"id": adjustment_id, "product_id": product_id, "delta": delta,
                             "reason": reason, "actor": actor, "key": key,
                             "fingerprint": fingerprint, "result": result})


class MemoryReservationRepository:
    """Reservations as a dict of ``Reservation`` by id; each comes out a copy, as a row
    read back would (an empty refusal is none, as in the SQL adapter)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._reservations: dict[str, Reservation] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, Reservation]:
        return self._reservations

    def restore(self, state: dict[str, Reservation]) -> None:
        self._reservations = state

    async def get(self, reservation_id: str, tx: Connection | None = None
                  ) -> Reservation | None:
        if tx is None:
            await self.db.outside()
        found = self._reservations.get(reservation_id)
        return copy.deepcopy(found)

    async def due(self, before: str, limit: int) -> list[str]:
        await self.db.outside()
        due = sorted((r.expires_at, r.reservation_id) for r in self._reservations.values()
                     if r.status == Status.RESERVED and r.expires_at is not None
                     and r.expires_at < before)
        return [rid for _expires, rid in due[:limit]]

    async def held(self) -> int:
        await self.db.outside()
        return sum(1 for r in self._reservations.values() if r.status == Status.RESERVED)

    async def add(self, tx: Connection, r: Reservation) -> None:
        if r.reservation_id in self._reservations:  # the SQL table's primary key
            raise Conflict(f"reservation {r.reservation_id} is stored already")
        self._reservations[r.reservation_id] = replace(
            r, refusal=copy.deepcopy(r.refusal) or None)

    async def listed(self, tx: Connection) -> list[dict]:
        return [{"reservation_id": r.reservation_id, "order_id": r.order_id,
                 "status": r.status.value, "items": [li.as_dict() for li in r.lines]}
                for _rid, r in sorted(self._reservations.items()) if not r.tombstone]

    async def set_status(self, tx: Connection, reservation_id: str, status: Status,
                         at: str) -> None:
        found = self._reservations.get(reservation_id)
        if found is not None:
            self._reservations[reservation_id] = replace(found, status=status)

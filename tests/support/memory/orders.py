"""``OrderRepository`` (services/orders/ports.py) in memory: each order's events kept as the
event store keeps them (type and JSON data per version) and folded by the same domain code,
the saga rows as the SQL adapter reads them back, idempotency keys and units held."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mercato.chassis.data import Conflict, Connection
from mercato.chassis.telemetry import current_traceparent
from mercato.services.orders.adapters.events import event_id
from mercato.services.orders.adapters.store import facts_of
from mercato.services.orders.domain.events import (
    Line,
    Recorded,
    check_consecutive,
    from_data,
    to_data,
)
from mercato.services.orders.domain.limits import Held
from mercato.services.orders.domain.order import Order, Status
from mercato.services.orders.domain.saga import CheckoutSaga, Phase
from mercato.services.orders.ports import ConcurrencyError, SagaConflict
from tests.support.memory import MemoryDatabase
from tests.support.memory.outbox import MemoryOutbox

BUSY = (Phase.FORWARD.value, Phase.COMPENSATING.value)
UNFINISHED = (Phase.FORWARD.value, Phase.COMPENSATING.value, Phase.REFUNDING.value)


@dataclass
class _Tables:
    events: dict[str, dict[int, tuple[str, str, str]]] = field(default_factory=dict)
    sagas: dict[str, dict[str, Any]] = field(default_factory=dict)  # rows, in insert order
    keys: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    units: dict[tuple[str, str], tuple[str, int, datetime]] = field(default_factory=dict)


class MemoryOrderRepository:
    """Orders, sagas, keys and units as dicts. ``outbox``: the ``MemoryOutbox`` the
    handlers publish through, whose OrderPlaced ``forget_sealed_card`` empties."""

    def __init__(self, db: MemoryDatabase, outbox: MemoryOutbox | None = None) -> None:
        self.db = db
        self.outbox = outbox
        self._t = _Tables()
        db.attach(self)

    def snapshot(self) -> _Tables:
        return self._t

    def restore(self, state: _Tables) -> None:
        self._t = state

    # -- orders: their events --------------------------------------------------
    async def append(self, tx: Connection, records: list[Recorded],
                     expected_version: int) -> None:
        if not records:
            return
        check_consecutive(records, expected_version)
        order_id, versions = records[0].order_id, [r.version for r in records]
        stored = self._t.events.setdefault(order_id, {})
        if any(v in stored for v in versions):  # the primary key (order_id, version)
            raise ConcurrencyError(
                f"order {order_id} has changed since version {expected_version}")
        for r in records:
            stored[r.version] = (r.type, json.dumps(to_data(r.event)), r.at)

    async def get_order(self, order_id: str, tx: Connection | None = None) -> Order | None:
        if tx is None:
            await self.db.outside()
        stored = self._t.events.get(order_id, {})
        return Order.fold([Recorded(order_id, v, at, from_data(kind, json.loads(data)))
                           for v, (kind, data, at) in sorted(stored.items())])

    # -- sagas ---------------------------------------------------------------
    async def insert_saga(self, tx: Connection, saga: CheckoutSaga, at: str, *,
                          mode: str = "orchestration", customer_id: str | None = None) -> None:
        if saga.order_id in self._t.sagas:
            raise Conflict(f"a saga of {saga.order_id} exists already")
        self._t.sagas[saga.order_id] = {
            "order_id": saga.order_id, "card_token": saga.card_token,
            "phase": saga.phase.value, "step": saga.step.value, "reason": saga.reason,
            "cancel_requested": saga.cancel_requested, "state": json.dumps(saga.to_state()),
            "updated_at": at, "mode": mode, "version": saga.version,
            "traceparent": current_traceparent(), "customer_id": customer_id}

    async def save_saga(self, tx: Connection, saga: CheckoutSaga, at: str) -> int:
        row = self._t.sagas.get(saga.order_id)
        if row is None or row["version"] != saga.version:
            raise SagaConflict(f"saga {saga.order_id} is no longer at version {saga.version}")
        row.update(phase=saga.phase.value, step=saga.step.value, reason=saga.reason,
                   state=json.dumps(saga.to_state()), updated_at=at,
                   card_token=saga.card_token, version=saga.version + 1)
        return saga.version + 1

    async def get_saga(self, order_id: str, tx: Connection | None = None
                       ) -> CheckoutSaga | None:
        if tx is None:
            await self.db.outside()
        row = self._t.sagas.get(order_id)
        if row is None:
            return None
        return CheckoutSaga.from_row(dict(row), json.loads(row["state"]))

    async def request_cancel(self, order_id: str, tx: Connection | None = None) -> None:
        if tx is None:
            async with self.db.transaction() as own:
                return await self.request_cancel(order_id, own)
        row = self._t.sagas.get(order_id)
        if row is not None:
            row.update(cancel_requested=True, version=row["version"] + 1)

    async def unfinished_sagas(self, mode: str | None = None) -> list[str]:
        await self.db.outside()
        return [r["order_id"] for r in self._t.sagas.values()
                if (r["phase"] in UNFINISHED
                    or (r["cancel_requested"] and r["phase"] == Phase.CONFIRMED.value))
                and r["mode"] == (mode if mode is not None else r["mode"])]

    async def saga_traceparents(self, order_ids: list[str]) -> dict[str, str]:
        await self.db.outside()
        rows = (self._t.sagas.get(order_id) for order_id in order_ids)
        return {r["order_id"]: r["traceparent"] for r in rows
                if r is not None and r["traceparent"] is not None}

    async def checkouts_in_progress(self, up_to: int, customer_id: str,
                                    up_to_theirs: int) -> tuple[int, int]:
        await self.db.outside()
        busy = [r for r in self._t.sagas.values() if r["phase"] in BUSY]
        theirs = [r for r in busy if r["customer_id"] == customer_id]
        return min(len(busy), int(up_to)), min(len(theirs), int(up_to_theirs))

    # -- units held per customer ---------------------------------------------------
    async def hold_units(self, tx: Connection, order_id: str, customer_id: str,
                         lines: list[Line], placed_at: datetime) -> None:
        units: dict[str, int] = {}
        for line in lines:
            units[line.product_id] = units.get(line.product_id, 0) + line.quantity
        if any((order_id, p) in self._t.units for p in units):
            raise Conflict(f"the units of {order_id} are held already")
        for product_id, n in units.items():
            self._t.units[(order_id, product_id)] = (customer_id, n, placed_at.astimezone(UTC))

    async def units_held(self, tx: Connection, customer_id: str, product_ids: list[str],
                         since: datetime) -> list[Held]:
        wanted, since = set(product_ids), since.astimezone(UTC)
        held = []
        for (order_id, product_id), (customer, n, at) in self._t.units.items():
            saga = self._t.sagas.get(order_id)  # the SQL adapter joins the saga's row
            if (customer == customer_id and product_id in wanted and at > since
                    and saga is not None and saga["phase"] != Phase.CANCELLED.value):
                held.append(Held(product_id, n, at))
        return held

    # -- the card token --------------------------------------------------------------
    async def forget_sealed_card(self, tx: Connection, order_id: str) -> None:
        placed = event_id(order_id, Status.PENDING)
        for envelope in self.outbox.envelopes if self.outbox is not None else []:
            if envelope.id == placed and envelope.payload.get("sealed_card_token"):
                envelope.payload["sealed_card_token"] = None  # the row's body, rewritten

    # -- idempotency ---------------------------------------------------------
    async def find_key(self, tx: Connection, customer_id: str, key: str) -> dict | None:
        seen = self._t.keys.get((customer_id, key))
        return dict(seen) if seen is not None else None

    async def remember_key(self, tx: Connection, customer_id: str, key: str,
                           request_hash: str, order_id: str, at: str) -> None:
        if (customer_id, key) in self._t.keys:
            raise Conflict(f"the key {key} of {customer_id} is taken")
        self._t.keys[(customer_id, key)] = {"request_hash": request_hash, "order_id": order_id}

    # -- mercato verify ----------------------------------------------------------------
    async def facts(self) -> dict:
        pairs = []
        async with self.db.transaction() as tx:
            for order_id in sorted(self._t.sagas):
                order = await self.get_order(order_id, tx)
                saga = await self.get_saga(order_id, tx)
                if order is not None and saga is not None:
                    pairs.append((order, saga))
        return facts_of(pairs, await self.unfinished_sagas())


class MemoryRefundRequestRepository:
    """``RefundRequestRepository`` (services/orders/ports.py) in memory: order id ->
    [mode, requested at, refunded at or None], in the order they were asked."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._rows: dict[str, list] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, list]:
        return {k: list(v) for k, v in self._rows.items()}

    def restore(self, state: dict[str, list]) -> None:
        self._rows = state

    async def add(self, tx, order_id: str, mode: str, at: str) -> bool:
        if order_id in self._rows:
            return False
        self._rows[order_id] = [mode, at, None]
        return True

    async def is_open(self, tx, order_id: str) -> bool:
        return order_id in self._rows and self._rows[order_id][2] is None

    async def close(self, tx, order_id: str, at: str) -> None:
        if order_id in self._rows and self._rows[order_id][2] is None:
            self._rows[order_id][2] = at

    async def open_ones(self, mode: str, limit: int) -> list[str]:
        await self.db.outside()
        found = sorted((at, oid) for oid, (m, at, done) in self._rows.items()
                       if m == mode and done is None)
        return [oid for _, oid in found][:limit]

"""``PaymentRepository``, ``IntentRepository`` and ``DoubtRepository``
(services/payments/ports.py) in memory."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mercato.chassis.data import Connection, Row
from mercato.contracts.orders import OrderPlaced
from mercato.services.payments.domain import Payment
from mercato.services.payments.ports import StaleStatus, Tombstoned
from tests.support.memory import MemoryDatabase


@dataclass
class _Payments:
    payments: dict[str, Payment] = field(default_factory=dict)
    ledger: list[Row] = field(default_factory=list)  # in the order written, with payment_id
    tombstones: set[str] = field(default_factory=set)


def _oldest_first(payments: list[Payment]) -> list[Payment]:
    return sorted(payments, key=lambda p: (p.created_at, p.id))  # ORDER BY created_at, id


class MemoryPaymentRepository:
    """Payments by id, the ledger as a list, tombstones as a set. No locks: the
    ``MemoryDatabase``'s transactions already run one at a time."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._state = _Payments()
        db.attach(self)

    def snapshot(self) -> _Payments:
        return self._state

    def restore(self, state: _Payments) -> None:
        self._state = state

    async def get(self, payment_id: str) -> Payment | None:
        await self.db.outside()
        return self._state.payments.get(payment_id)

    async def is_tombstoned(self, payment_id: str) -> bool:
        await self.db.outside()
        return payment_id in self._state.tombstones

    async def for_order(self, order_id: str) -> list[Payment]:
        await self.db.outside()
        return _oldest_first([p for p in self._state.payments.values()
                              if p.order_id == order_id])

    async def ledger(self, payment_id: str) -> list[Row]:
        await self.db.outside()
        return [{k: v for k, v in entry.items() if k != "payment_id"}
                for entry in self._state.ledger if entry["payment_id"] == payment_id]

    async def summaries(self) -> list[Row]:
        await self.db.outside()
        return [{"payment_id": p.id, "order_id": p.order_id, "status": str(p.status),
                 "amount": p.amount, "currency": p.currency}
                for p in _oldest_first(list(self._state.payments.values()))]

    async def add(self, tx: Connection, payment: Payment, kind: str) -> tuple[Payment, bool]:
        if payment.id in self._state.tombstones:
            raise Tombstoned(payment.id)
        stored = self._state.payments.get(payment.id)
        if stored is not None:
            return stored, False
        self._state.payments[payment.id] = payment
        self._record(payment, kind, payment.failure_reason)
        return payment, True

    async def move(self, tx: Connection, before: Payment, after: Payment, kind: str) -> None:
        stored = self._state.payments.get(after.id)
        if stored is None or stored.status != before.status:
            raise StaleStatus(after.id)
        # the SQL adapter's UPDATE writes these two columns only
        self._state.payments[after.id] = replace(stored, status=after.status,
                                                 updated_at=after.updated_at)
        self._record(after, kind, None)

    async def tombstone(self, tx: Connection, payment_id: str, at: str) -> Payment | None:
        stored = self._state.payments.get(payment_id)
        if stored is not None:
            return stored
        self._state.tombstones.add(payment_id)
        return None

    def _record(self, payment: Payment, kind: str, detail: str | None) -> None:
        self._state.ledger.append({
            "payment_id": payment.id, "kind": kind, "amount": payment.amount,
            "currency": payment.currency, "provider_reference": payment.provider_reference,
            "detail": detail, "created_at": payment.updated_at})


class MemoryIntentRepository:
    """Checkout intents by order id; each write in a ``MemoryDatabase`` transaction of its
    own, as the SQL adapter's."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._intents: dict[str, Row] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, Row]:
        return self._intents

    def restore(self, state: dict[str, Row]) -> None:
        self._intents = state

    async def remember(self, event: OrderPlaced, at: str) -> None:
        async with self.db.transaction():
            self._intents.setdefault(event.order_id, {  # ON CONFLICT DO NOTHING
                "order_id": event.order_id, "customer_id": event.customer_id,
                "amount": event.total, "currency": event.currency,
                "sealed_card_token": event.sealed_card_token or "",
                "checkout": event.checkout})

    async def get(self, order_id: str) -> Row | None:
        await self.db.outside()
        intent = self._intents.get(order_id)
        return dict(intent) if intent is not None else None

    async def forget_card(self, order_id: str) -> None:
        async with self.db.transaction():
            if order_id in self._intents:
                self._intents[order_id]["sealed_card_token"] = ""


class MemoryDoubtRepository:
    """Doubts by payment id; each write in a ``MemoryDatabase`` transaction of its own,
    as the SQL adapter's."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._doubts: dict[str, Row] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, Row]:
        return {k: dict(v) for k, v in self._doubts.items()}

    def restore(self, state: dict[str, Row]) -> None:
        self._doubts = state

    async def doubt(self, payment_id: str, action: str, at: str) -> None:
        async with self.db.transaction():
            self._doubts[payment_id] = {"payment_id": payment_id, "action": action,
                                        "opened_at": at, "settled_at": None, "outcome": None}

    async def due(self, opened_before: str, limit: int) -> list[Row]:
        await self.db.outside()
        due = [dict(d) for d in self._doubts.values()
               if d["settled_at"] is None and d["opened_at"] < opened_before]
        return sorted(due, key=lambda d: (d["opened_at"], d["payment_id"]))[:limit]

    async def settle(self, payment_id: str, opened_at: str, outcome: str, at: str) -> bool:
        async with self.db.transaction():
            d = self._doubts.get(payment_id)
            if d is None or d["opened_at"] != opened_at or d["settled_at"] is not None:
                return False
            d.update(settled_at=at, outcome=outcome)
            return True

    async def postpone(self, payment_id: str, opened_at: str, to: str) -> bool:
        async with self.db.transaction():
            d = self._doubts.get(payment_id)
            if d is None or d["opened_at"] != opened_at or d["settled_at"] is not None:
                return False
            d["opened_at"] = to
            return True

    async def all(self) -> list[Row]:
        await self.db.outside()
        return sorted((dict(d) for d in self._doubts.values()),
                      key=lambda d: (d["opened_at"], d["payment_id"]))

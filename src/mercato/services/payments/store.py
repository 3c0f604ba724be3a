"""The payments database: payments, their ledger (payment_events) and tombstones, as
``PaymentRepository`` (ports.py) says.

Writes take the caller's transaction (``tx``): the handler stores a change to a payment,
its ledger entry and the integration event about it in one transaction. A status change is
a compare-and-set on the status it was decided from.
"""

from __future__ import annotations

from mercato.chassis import Database
from mercato.chassis.clock import IdFactory
from mercato.chassis.data import Connection, Row
from mercato.services.payments.domain import Payment, Status
from mercato.services.payments.ports import StaleStatus, Tombstoned

COLUMNS = ("id, order_id, customer_id, amount, currency, status, provider_reference,"
           " failure_reason, created_at, updated_at")


def _payment(row: Row) -> Payment:
    return Payment(**{**row, "status": Status(row["status"])})


class SqlPaymentRepository:
    """Payments, ledger and tombstones; reads outside a unit of work go through ``db``;
    ``new_id`` names each ledger entry."""

    def __init__(self, db: Database, new_id: IdFactory) -> None:
        self.db = db
        self._new_id = new_id

    async def get(self, payment_id: str) -> Payment | None:
        """The stored payment; None if there is none."""
        row = await self.db.fetch_one(f"SELECT {COLUMNS} FROM payments WHERE id = ?", payment_id)
        return _payment(row) if row else None

    async def summaries(self) -> list[Row]:
        """Every payment's ``payment_id``, ``order_id``, ``status``, ``amount`` and
        ``currency``, oldest first (for ``mercato verify``)."""
        return await self.db.fetch_all(
            "SELECT id AS payment_id, order_id, status, amount, currency FROM payments"
            " ORDER BY created_at, id")

    async def is_tombstoned(self, payment_id: str) -> bool:
        """Whether ``payment_id`` was voided before it was ever stored."""
        row = await self.db.fetch_one(
            "SELECT payment_id FROM payment_tombstones WHERE payment_id = ?", payment_id)
        return row is not None

    async def for_order(self, order_id: str) -> list[Payment]:
        """The order's payments, oldest first (by ``created_at``, then id)."""
        rows = await self.db.fetch_all(
            f"SELECT {COLUMNS} FROM payments WHERE order_id = ? ORDER BY created_at, id",
            order_id)
        return [_payment(r) for r in rows]

    async def add(self, tx: Connection, payment: Payment, kind: str) -> tuple[Payment, bool]:
        """Store a new payment and its first ledger entry.

        Returns the payment already stored under that id (and False) when there is one;
        raises ``Tombstoned`` when the id was voided first. Under the payment's named
        lock: on PostgreSQL (READ COMMITTED) two replicas adding one id, or a tombstone
        racing an add, would otherwise both read "nothing there" and both write.
        """
        await tx.lock("payment:" + payment.id)
        if await tx.fetch_one(
            "SELECT payment_id FROM payment_tombstones WHERE payment_id = ?", payment.id
        ):
            raise Tombstoned(payment.id)
        row = await tx.fetch_one(f"SELECT {COLUMNS} FROM payments WHERE id = ?", payment.id)
        if row:
            return _payment(row), False
        await tx.execute(
            f"INSERT INTO payments ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            payment.id, payment.order_id, payment.customer_id, payment.amount,
            payment.currency, str(payment.status), payment.provider_reference,
            payment.failure_reason, payment.created_at, payment.updated_at,
        )
        await self._record(tx, payment, kind, payment.failure_reason)
        return payment, True

    async def move(self, tx: Connection, before: Payment, after: Payment, kind: str) -> None:
        """Write ``after``'s status if the stored status is still that of ``before``;
        ``StaleStatus`` otherwise."""
        await tx.lock("payment:" + after.id)
        changed = await tx.execute(
            "UPDATE payments SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
            str(after.status), after.updated_at, after.id, str(before.status),
        )
        if changed != 1:
            raise StaleStatus(after.id)
        await self._record(tx, after, kind, None)

    async def tombstone(self, tx: Connection, payment_id: str, at: str) -> Payment | None:
        """Record that ``payment_id`` is void before it exists; the payment if it does.
        Under the payment's lock, as ``add``: never a tombstone and a payment both."""
        await tx.lock("payment:" + payment_id)
        row = await tx.fetch_one(f"SELECT {COLUMNS} FROM payments WHERE id = ?", payment_id)
        if row:
            return _payment(row)
        await tx.execute(
            "INSERT INTO payment_tombstones (payment_id, created_at) VALUES (?, ?)"
            " ON CONFLICT (payment_id) DO NOTHING", payment_id, at,
        )
        return None

    async def ledger(self, payment_id: str) -> list[Row]:
        """The payment's entries in the order written."""
        return await self.db.fetch_all(
            "SELECT kind, amount, currency, provider_reference, detail, created_at"
            " FROM payment_events WHERE payment_id = ? ORDER BY seq", payment_id)

    async def _record(self, tx: Connection, payment: Payment, kind: str,
                      detail: str | None) -> None:
        await tx.execute(
            "INSERT INTO payment_events (id, payment_id, kind, amount, currency,"
            " provider_reference, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self._new_id(), payment.id, kind, payment.amount, payment.currency,
            payment.provider_reference, detail, payment.updated_at,
        )

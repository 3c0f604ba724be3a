"""The orders database: orders (as their events), sagas, idempotency keys."""

from __future__ import annotations

import json

from mercato.chassis import Database
from mercato.chassis.data.db import Connection
from mercato.chassis.telemetry import current_traceparent
from mercato.services.orders.domain.events import Recorded
from mercato.services.orders.domain.order import Order
from mercato.services.orders.domain.saga import CheckoutSaga, Phase
from mercato.services.orders.eventstore import ConcurrencyError, SqlEventStore


class SagaConflict(ConcurrencyError):
    """Another runner (a second orders replica) saved this saga since it was read."""


class SqlOrderStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.events = SqlEventStore(db)

    # -- orders: their events --------------------------------------------------
    async def append(self, tx: Connection, records: list[Recorded],
                     expected_version: int) -> None:
        """Store an order's new events; ``ConcurrencyError`` if it changed meanwhile."""
        await self.events.append(tx, records, expected_version)

    async def get_order(self, order_id: str, tx: Connection | None = None) -> Order | None:
        """The order as its stored events describe it (None if it has none)."""
        return Order.fold(await self.events.load(order_id, tx))

    # -- sagas ---------------------------------------------------------------
    async def insert_saga(self, tx: Connection, saga: CheckoutSaga, at: str, *,
                          mode: str = "orchestration", customer_id: str | None = None) -> None:
        # the trace it was placed in: a saga resumed after a restart goes on in it
        await tx.execute(
            "INSERT INTO sagas (order_id, card_token, phase, step, reason, cancel_requested,"
            " state, updated_at, mode, version, traceparent, customer_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            saga.order_id, saga.card_token, saga.phase.value, saga.step.value, saga.reason,
            saga.cancel_requested, json.dumps(saga.to_state()), at, mode, saga.version,
            current_traceparent(), customer_id)

    async def save_saga(self, tx: Connection, saga: CheckoutSaga, at: str) -> int:
        """Saves the runner's progress if the row is still at ``saga.version`` (compare
        and set), and returns the row's new version, for the caller to take once the
        transaction commits; ``SagaConflict`` when another runner saved first, so that
        progress decided on a stale read is never written over newer progress.
        ``cancel_requested`` is not written here: only ``request_cancel`` sets it, so a
        runner's save never loses a customer's request."""
        changed = await tx.execute(
            "UPDATE sagas SET phase = ?, step = ?, reason = ?, state = ?, updated_at = ?,"
            " version = version + 1 WHERE order_id = ? AND version = ?",
            saga.phase.value, saga.step.value, saga.reason, json.dumps(saga.to_state()), at,
            saga.order_id, saga.version)
        if changed != 1:
            raise SagaConflict(f"saga {saga.order_id} is no longer at version {saga.version}")
        return saga.version + 1

    async def checkouts_in_progress(self, up_to: int, customer_id: str,
                                    up_to_theirs: int) -> tuple[int, int]:
        """Sagas with work left (forward or compensating): all of them counted up to
        ``up_to``, and ``customer_id``'s up to ``up_to_theirs``, in one read (the indexes
        on phase and on customer and phase keep both short scans whatever the backlog)."""
        busy = (Phase.FORWARD.value, Phase.COMPENSATING.value)
        row = await self.db.fetch_one(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM sagas WHERE phase IN (?, ?)"
            " LIMIT ?)) AS n, (SELECT count(*) FROM (SELECT 1 FROM sagas WHERE phase IN"
            " (?, ?) AND customer_id = ? LIMIT ?)) AS theirs",
            *busy, up_to, *busy, customer_id, up_to_theirs)
        return row["n"], row["theirs"]

    async def request_cancel(self, order_id: str, tx: Connection | None = None) -> None:
        if tx is None:
            async with self.db.transaction() as own:
                return await self.request_cancel(order_id, own)
        # A new version, so the runner holding this saga in memory loses its next
        # save, reads the request and acts on it.
        await tx.execute("UPDATE sagas SET cancel_requested = ?, version = version + 1"
                         " WHERE order_id = ?", True, order_id)

    async def get_saga(self, order_id: str, tx: Connection | None = None) -> CheckoutSaga | None:
        row = await (tx or self.db).fetch_one("SELECT * FROM sagas WHERE order_id = ?", order_id)
        if row is None:
            return None
        return CheckoutSaga.from_row(row, json.loads(row["state"]))

    async def unfinished_sagas(self, mode: str | None = None) -> list[str]:
        """Order ids whose saga still has work: running, or a cancellation not yet acted
        on; only those of one ``mode`` if given (the runner resumes orchestrated ones)."""
        rows = await self.db.fetch_all(
            "SELECT order_id FROM sagas WHERE (phase IN (?, ?, ?)"
            " OR (cancel_requested AND phase = ?)) AND mode = coalesce(?, mode)",
            Phase.FORWARD.value, Phase.COMPENSATING.value, Phase.REFUNDING.value,
            Phase.CONFIRMED.value, mode)
        return [r["order_id"] for r in rows]

    async def saga_traceparents(self, order_ids: list[str]) -> dict[str, str]:
        """The trace context each of these sagas was placed in (those that have one)."""
        rows = await self.db.fetch_all(
            "SELECT order_id, traceparent FROM sagas WHERE traceparent IS NOT NULL AND"
            f" order_id IN ({', '.join('?' * len(order_ids))})", *order_ids) if order_ids \
            else []
        return {r["order_id"]: r["traceparent"] for r in rows}

    # -- idempotency ---------------------------------------------------------
    async def find_key(self, tx: Connection, customer_id: str, key: str) -> dict | None:
        return await tx.fetch_one(
            "SELECT request_hash, order_id FROM idempotency_keys WHERE customer_id = ? AND key = ?",
            customer_id, key)

    async def remember_key(self, tx: Connection, customer_id: str, key: str, request_hash: str,
                           order_id: str, at: str) -> None:
        await tx.execute(
            "INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)", customer_id, key, request_hash, order_id, at)

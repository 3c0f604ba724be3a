"""The orders database: orders (as their events), sagas, idempotency keys, and the units
each order holds per product (counted for the per-customer limit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mercato.chassis import Database
from mercato.chassis.data import Connection
from mercato.chassis.telemetry import current_traceparent
from mercato.services.orders.adapters.events import event_id
from mercato.services.orders.adapters.eventstore import APPEND_LOCK, SqlEventStore
from mercato.services.orders.domain.events import Line, Recorded
from mercato.services.orders.domain.limits import Held
from mercato.services.orders.domain.order import Order, Status
from mercato.services.orders.domain.saga import CheckoutSaga, Phase
from mercato.services.orders.ports import SagaConflict

__all__ = ["SagaConflict", "SqlOrderRepository", "idempotency_lock", "order_lock",
           "units_lock"]


class SqlOrderRepository:
    """``OrderRepository`` (ports.py) on the service's database: orders through the event
    store (``events``, which the projector reads too), the rest in their own tables."""

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
        """Store a new order's saga; a second one of the order is a ``Conflict``."""
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
        runner's save never loses a customer's request. The card token is written as
        the saga holds it: emptied by the step that no longer needs it (``needs_card``),
        in this same transaction."""
        changed = await tx.execute(
            "UPDATE sagas SET phase = ?, step = ?, reason = ?, state = ?, updated_at = ?,"
            " card_token = ?, version = version + 1 WHERE order_id = ? AND version = ?",
            saga.phase.value, saga.step.value, saga.reason, json.dumps(saga.to_state()), at,
            saga.card_token, saga.order_id, saga.version)
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
            # PostgreSQL wants every subquery in FROM named (``AS busy``); SQLite takes it
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM sagas WHERE phase IN (?, ?)"
            " LIMIT ?) AS busy) AS n, (SELECT count(*) FROM (SELECT 1 FROM sagas WHERE"
            " phase IN (?, ?) AND customer_id = ? LIMIT ?) AS mine) AS theirs",
            *busy, int(up_to), *busy, customer_id, int(up_to_theirs))
        return int(row["n"]), int(row["theirs"])

    # -- units held per customer (the business-flow limit, domain/limits.py) -------
    async def hold_units(self, tx: Connection, order_id: str, customer_id: str,
                         lines: list[Line], placed_at: datetime) -> None:
        """Record what a new order holds, per product (its lines summed), in the placing
        transaction: what ``units_held`` counts for the customer's next orders."""
        units: dict[str, int] = {}
        for line in lines:
            units[line.product_id] = units.get(line.product_id, 0) + line.quantity
        await tx.execute_many(
            "INSERT INTO order_units (order_id, product_id, customer_id, units, placed_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(order_id, p, customer_id, n, _sortable(placed_at)) for p, n in units.items()])

    async def units_held(self, tx: Connection, customer_id: str, product_ids: list[str],
                         since: datetime) -> list[Held]:
        """The units of ``product_ids`` in ``customer_id``'s orders placed after ``since``
        and not cancelled (their saga's phase says so: it turns ``cancelled`` in the
        transaction that cancels the order), one read on the index (customer, product,
        time). Read in the placing transaction under ``units_lock(customer_id)`` (the caller
        takes it): two orders of one customer are counted one after the other, never both
        before either is written."""
        products = sorted(set(product_ids))
        if not products:  # `IN ()` is a syntax error on PostgreSQL
            return []
        rows = await tx.fetch_all(
            "SELECT u.product_id, u.units, u.placed_at FROM order_units u"
            " JOIN sagas s ON s.order_id = u.order_id WHERE u.customer_id = ?"
            f" AND u.product_id IN ({', '.join('?' * len(products))}) AND u.placed_at > ?"
            " AND s.phase <> ?",
            customer_id, *products, _sortable(since), Phase.CANCELLED.value)
        return [Held(r["product_id"], int(r["units"]), datetime.fromisoformat(r["placed_at"]))
                for r in rows]

    # -- the card token (docs/checkout.md §10) -------------------------------------
    async def forget_sealed_card(self, tx: Connection, order_id: str) -> None:
        """Empty the sealed card token of a choreographed order's OrderPlaced in the
        outbox (this database's copy; the stream keeps its own until its max age). Only
        once the event went out and the checkout no longer needs it: a relay that
        publishes it again (its ack lost) is dropped by the broker's duplicate window.
        The outbox is the chassis's table, but the row is orders' own event."""
        placed = event_id(order_id, Status.PENDING)
        row = await tx.fetch_one("SELECT body FROM outbox WHERE id = ?", placed)
        if row is None:
            return
        envelope = json.loads(row["body"])
        if not envelope.get("payload", {}).get("sealed_card_token"):
            return
        envelope["payload"]["sealed_card_token"] = None
        await tx.execute("UPDATE outbox SET body = ? WHERE id = ?",
                         json.dumps(envelope).encode(), placed)

    async def request_cancel(self, order_id: str, tx: Connection | None = None) -> None:
        """Mark the saga cancel-requested (in its own transaction without ``tx``)."""
        if tx is None:
            async with self.db.transaction() as own:
                return await self.request_cancel(order_id, own)
        # A new version, so the runner holding this saga in memory loses its next
        # save, reads the request and acts on it.
        await tx.execute("UPDATE sagas SET cancel_requested = ?, version = version + 1"
                         " WHERE order_id = ?", True, order_id)

    async def get_saga(self, order_id: str, tx: Connection | None = None) -> CheckoutSaga | None:
        """The order's saga as last saved (None if it has none)."""
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

    async def facts(self) -> dict:
        """What ``mercato verify`` reads of orders: every order with its saga's phase, read
        through the repository's own methods in one transaction, and the sagas with work left.

        Each order must agree with its saga. SQLite's transaction is one snapshot; on
        PostgreSQL (READ COMMITTED) each statement sees the latest commits, so a saga could
        be read after a commit that its order was read before. Holding the event store's
        append lock stops that: every transaction that moves an order and its saga together
        appends, so none commits while the facts are read (appends wait; ``mercato verify``
        is an operator's command, rarely run)."""
        pairs = []
        async with self.db.transaction() as tx:
            await tx.lock(APPEND_LOCK)
            # every order is placed with its saga, in one transaction: the sagas list them all
            for row in await tx.fetch_all("SELECT order_id FROM sagas ORDER BY order_id"):
                order = await self.get_order(row["order_id"], tx)
                saga = await self.get_saga(row["order_id"], tx)
                if order is not None and saga is not None:
                    pairs.append((order, saga))
        return facts_of(pairs, await self.unfinished_sagas())

    async def saga_traceparents(self, order_ids: list[str]) -> dict[str, str]:
        """The trace context each of these sagas was placed in (those that have one)."""
        rows = await self.db.fetch_all(
            "SELECT order_id, traceparent FROM sagas WHERE traceparent IS NOT NULL AND"
            f" order_id IN ({', '.join('?' * len(order_ids))})", *order_ids) if order_ids \
            else []
        return {r["order_id"]: r["traceparent"] for r in rows}

    # -- idempotency ---------------------------------------------------------
    async def find_key(self, tx: Connection, customer_id: str, key: str) -> dict | None:
        """The customer's key: its ``request_hash`` and ``order_id``, or None."""
        return await tx.fetch_one(
            "SELECT request_hash, order_id FROM idempotency_keys WHERE customer_id = ? AND key = ?",
            customer_id, key)

    async def remember_key(self, tx: Connection, customer_id: str, key: str, request_hash: str,
                           order_id: str, at: str) -> None:
        """Remember the key; a key the customer used already is a ``Conflict``."""
        await tx.execute(
            "INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)", customer_id, key, request_hash, order_id, at)


def units_lock(customer_id: str) -> str:
    """The named lock (``tx.lock``) over a customer's units: read, decided on, written."""
    return f"units:{customer_id}"


def idempotency_lock(customer_id: str, key: str) -> str:
    """The named lock over one customer's idempotency key: looked up, then remembered."""
    return f"idempotency:{customer_id}:{key}"


def order_lock(order_id: str) -> str:
    """The named lock over one order where a read of it decides a write that its version
    does not guard (a cancellation asked for against the courier's news)."""
    return f"order:{order_id}"


def _sortable(moment: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order in SQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def facts_of(pairs: list[tuple[Order, CheckoutSaga]], unfinished: list[str]) -> dict:
    """``mercato verify``'s facts from each order with its saga (by order id) and the ids of
    the sagas with work left; one shape for every implementation of the repository."""
    orders = [{"order_id": order.id, "status": order.status.value, "total": order.total,
               "currency": order.currency, "reason": order.reason, "saga": saga.phase.value,
               "history": [c.status.value for c in order.history]} for order, saga in pairs]
    return {"orders": orders,
            "pending_orders": sum(1 for o in orders if o["status"] == "pending"),
            "unfinished_sagas": len(unfinished), "unfinished_saga_ids": unfinished}

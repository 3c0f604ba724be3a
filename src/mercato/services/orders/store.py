"""The orders database: orders with their lines and history, sagas, idempotency keys."""

from __future__ import annotations

import json

from mercato.chassis import Database
from mercato.chassis.db import Connection
from mercato.services.orders.domain.order import Change, Line, Order, Status
from mercato.services.orders.domain.saga import CheckoutSaga, Phase


class SqlOrderStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- orders --------------------------------------------------------------
    async def insert_order(self, tx: Connection, order: Order) -> None:
        await tx.execute(
            "INSERT INTO orders (id, customer_id, status, reason, currency, total,"
            " shipping_address, from_cart, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            order.id, order.customer_id, order.status.value, order.reason, order.currency,
            order.total, json.dumps(order.shipping_address), order.from_cart,
            order.created_at, order.created_at,
        )
        await tx.execute_many(
            "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_price)"
            " VALUES (?, ?, ?, ?, ?)",
            [(order.id, x.product_id, x.name, x.quantity, x.unit_price) for x in order.lines],
        )
        await self._append_history(tx, order, 0)

    async def update_order(self, tx: Connection, order: Order, known_changes: int) -> None:
        await tx.execute("UPDATE orders SET status = ?, reason = ?, updated_at = ? WHERE id = ?",
                         order.status.value, order.reason, order.history[-1].at, order.id)
        await self._append_history(tx, order, known_changes)

    async def _append_history(self, tx: Connection, order: Order, start: int) -> None:
        rows = [(order.id, seq, c.status.value, c.reason, c.at)
                for seq, c in enumerate(order.history) if seq >= start]
        if rows:
            await tx.execute_many("INSERT INTO order_history (order_id, seq, status, reason, at)"
                                  " VALUES (?, ?, ?, ?, ?)", rows)

    async def get_order(self, order_id: str, tx: Connection | None = None) -> Order | None:
        src = tx or self.db
        row = await src.fetch_one("SELECT * FROM orders WHERE id = ?", order_id)
        if row is None:
            return None
        lines = await src.fetch_all(
            "SELECT product_id, name, quantity, unit_price FROM order_lines WHERE order_id = ?"
            " ORDER BY rowid", order_id)
        changes = await src.fetch_all(
            "SELECT status, reason, at FROM order_history WHERE order_id = ? ORDER BY seq",
            order_id)
        return Order(
            id=row["id"], customer_id=row["customer_id"],
            lines=[Line(**x) for x in lines], currency=row["currency"],
            shipping_address=json.loads(row["shipping_address"]), created_at=row["created_at"],
            status=Status(row["status"]), reason=row["reason"],
            history=[Change(Status(c["status"]), c["at"], c["reason"]) for c in changes],
            from_cart=bool(row["from_cart"]),
        )

    async def list_orders(self, customer_id: str, limit: int) -> list[Order]:
        rows = await self.db.fetch_all(
            "SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at DESC, id DESC"
            " LIMIT ?", customer_id, limit)
        orders = [await self.get_order(r["id"]) for r in rows]
        return [o for o in orders if o is not None]

    # -- sagas ---------------------------------------------------------------
    async def insert_saga(self, tx: Connection, saga: CheckoutSaga, at: str) -> None:
        await tx.execute(
            "INSERT INTO sagas (order_id, card_token, phase, step, reason, cancel_requested,"
            " state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            saga.order_id, saga.card_token, saga.phase.value, saga.step.value, saga.reason,
            saga.cancel_requested, json.dumps(saga.to_state()), at)

    async def save_saga(self, tx: Connection, saga: CheckoutSaga, at: str) -> None:
        """Saves the runner's progress. ``cancel_requested`` is not written here: only
        ``request_cancel`` sets it, so a runner's save never loses a customer's request."""
        await tx.execute(
            "UPDATE sagas SET phase = ?, step = ?, reason = ?, state = ?, updated_at = ?"
            " WHERE order_id = ?",
            saga.phase.value, saga.step.value, saga.reason, json.dumps(saga.to_state()), at,
            saga.order_id)

    async def request_cancel(self, order_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE sagas SET cancel_requested = ? WHERE order_id = ?",
                             True, order_id)

    async def get_saga(self, order_id: str, tx: Connection | None = None) -> CheckoutSaga | None:
        row = await (tx or self.db).fetch_one("SELECT * FROM sagas WHERE order_id = ?", order_id)
        if row is None:
            return None
        return CheckoutSaga.from_row(row, json.loads(row["state"])["records"])

    async def unfinished_sagas(self) -> list[str]:
        """Order ids whose saga still has work: running, or a cancellation not yet acted
        on."""
        rows = await self.db.fetch_all(
            "SELECT order_id FROM sagas WHERE phase IN (?, ?, ?)"
            " OR (cancel_requested AND phase = ?)",
            Phase.FORWARD.value, Phase.COMPENSATING.value, Phase.REFUNDING.value,
            Phase.CONFIRMED.value)
        return [r["order_id"] for r in rows]

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

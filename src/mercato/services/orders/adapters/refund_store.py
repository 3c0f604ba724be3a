"""Refund requests of delivered orders (``RefundRequestRepository``, ports.py)."""

from __future__ import annotations

from mercato.chassis import Database
from mercato.chassis.data import Connection


class SqlRefundRequestRepository:
    """One row per order asked to be refunded; ``refunded_at`` set once it is."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, tx: Connection, order_id: str, mode: str, at: str) -> bool:
        return bool(await tx.execute(
            "INSERT INTO refund_requests (order_id, mode, requested_at) VALUES (?, ?, ?)"
            " ON CONFLICT (order_id) DO NOTHING", order_id, mode, at))

    async def is_open(self, tx: Connection, order_id: str) -> bool:
        row = await tx.fetch_one(
            "SELECT refunded_at FROM refund_requests WHERE order_id = ?", order_id)
        return row is not None and row["refunded_at"] is None

    async def close(self, tx: Connection, order_id: str, at: str) -> None:
        await tx.execute(
            "UPDATE refund_requests SET refunded_at = ? WHERE order_id = ?"
            " AND refunded_at IS NULL", at, order_id)

    async def open_ones(self, mode: str, limit: int) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT order_id FROM refund_requests WHERE refunded_at IS NULL AND mode = ?"
            " ORDER BY requested_at, order_id LIMIT ?", mode, limit)
        return [r["order_id"] for r in rows]

"""The notifications database: every message, and whether it went out yet, and the
recipients learnt from registrations (``NotificationRepository``, ports.py)."""

from __future__ import annotations

from collections.abc import Sequence

from mercato.chassis import Database
from mercato.chassis.data import Connection
from mercato.services.notifications.domain import Notification, Recipient

COLUMNS = "id, user_id, kind, subject, body, order_id, email, created_at, sent_at"
SELECT = f"SELECT {COLUMNS} FROM notifications"


class SqlNotificationRepository:
    """Messages and recipients; reads outside a unit of work go through ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, notification_id: str) -> Notification | None:
        row = await self.db.fetch_one(f"{SELECT} WHERE id = ?", notification_id)
        return Notification(**row) if row else None

    async def add(self, tx: Connection, n: Notification) -> tuple[Notification, bool]:
        """Store ``n``; the one already stored under its id (and False) if any. An insert
        that does nothing on a clash, then a read: two writers of one id (two replicas,
        READ COMMITTED on PostgreSQL) get one row and a replay, never a ``Conflict``."""
        if await self.insert(tx, n):
            return n, True
        row = await tx.fetch_one(f"{SELECT} WHERE id = ?", n.id)
        assert row is not None  # the clash was on this id, and rows are never deleted
        return Notification(**row), False

    async def insert(self, tx: Connection, n: Notification) -> bool:
        """Store ``n`` in the caller's transaction unless its id is there; True if stored."""
        return bool(await tx.execute(
            f"INSERT INTO notifications ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            n.id, n.user_id, n.kind, n.subject, n.body, n.order_id, n.email, n.created_at,
            n.sent_at))

    async def recipient(self, tx: Connection, user_id: str) -> Recipient | None:
        row = await tx.fetch_one(
            "SELECT user_id, email, name FROM recipients WHERE user_id = ?", user_id)
        return Recipient(**row) if row else None

    async def remember(self, tx: Connection, r: Recipient, at: str) -> None:
        await tx.execute(
            "INSERT INTO recipients (user_id, email, name, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET email = excluded.email,"
            " name = excluded.name, updated_at = excluded.updated_at",
            r.user_id, r.email, r.name, at)

    async def mark_sent(self, tx: Connection, n: Notification) -> None:
        await tx.execute(
            "UPDATE notifications SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
            n.sent_at, n.id)

    async def mark_sent_many(self, tx: Connection, sent: Sequence[Notification]) -> None:
        """Record the sending of a batch in the caller's transaction (one commit)."""
        await tx.execute_many(
            "UPDATE notifications SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
            [(n.sent_at, n.id) for n in sent])

    async def unsent_of(self, ids: Sequence[str]) -> list[Notification]:
        """Those of ``ids`` still unsent, oldest first."""
        if not ids:
            return []
        rows = await self.db.fetch_all(
            f"{SELECT} WHERE id IN ({_marks(ids)}) AND sent_at IS NULL"
            " ORDER BY created_at, id", *ids)
        return [Notification(**r) for r in rows]

    async def unsent(self, limit: int) -> list[Notification]:
        rows = await self.db.fetch_all(
            f"{SELECT} WHERE sent_at IS NULL ORDER BY created_at, id LIMIT ?", limit)
        return [Notification(**r) for r in rows]

    async def for_user(self, user_id: str, limit: int,
                       order_ids: Sequence[str] = ()) -> list[Notification]:
        if not order_ids:
            rows = await self.db.fetch_all(
                f"{SELECT} WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                user_id, limit)
        else:
            rows = await self.db.fetch_all(
                f"{SELECT} WHERE user_id = ? AND order_id IN ({_marks(order_ids)})"
                " ORDER BY created_at DESC, id DESC LIMIT ?", user_id, *order_ids, limit)
        return [Notification(**r) for r in rows]

    async def for_order(self, order_ids: Sequence[str], limit: int) -> list[Notification]:
        if not order_ids:  # ``IN ()`` is SQLite's, not PostgreSQL's
            return []
        rows = await self.db.fetch_all(
            f"{SELECT} WHERE order_id IN ({_marks(order_ids)})"
            " ORDER BY created_at DESC, id DESC LIMIT ?", *order_ids, limit)
        return [Notification(**r) for r in rows]


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" * len(values))

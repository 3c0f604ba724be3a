"""``NotificationRepository`` (services/notifications/ports.py) in memory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from mercato.chassis.data import Connection
from mercato.services.notifications.domain import Notification, Recipient
from tests.support.memory import MemoryDatabase


@dataclass
class _State:
    messages: dict[str, Notification] = field(default_factory=dict)
    recipients: dict[str, Recipient] = field(default_factory=dict)


def _oldest_first(found: Iterable[Notification]) -> list[Notification]:
    return sorted(found, key=lambda n: (n.created_at, n.id))


def _newest_first(found: Iterable[Notification], limit: int) -> list[Notification]:
    return sorted(found, key=lambda n: (n.created_at, n.id), reverse=True)[:limit]


class MemoryNotificationRepository:
    """Messages and recipients as dicts; an id is stored once and never replaced, and a
    message once marked sent keeps its first time, as the SQL adapter's statements say."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._state = _State()
        db.attach(self)

    def snapshot(self) -> _State:
        return self._state

    def restore(self, state: _State) -> None:
        self._state = state

    async def get(self, notification_id: str) -> Notification | None:
        await self.db.outside()
        return self._state.messages.get(notification_id)

    async def add(self, tx: Connection, n: Notification) -> tuple[Notification, bool]:
        if await self.insert(tx, n):
            return n, True
        return self._state.messages[n.id], False

    async def insert(self, tx: Connection, n: Notification) -> bool:
        if n.id in self._state.messages:
            return False
        self._state.messages[n.id] = n
        return True

    async def recipient(self, tx: Connection, user_id: str) -> Recipient | None:
        return self._state.recipients.get(user_id)

    async def remember(self, tx: Connection, r: Recipient, at: str) -> None:
        self._state.recipients[r.user_id] = r

    async def mark_sent(self, tx: Connection, n: Notification) -> None:
        stored = self._state.messages.get(n.id)
        if stored is not None and stored.sent_at is None:
            self._state.messages[n.id] = replace(stored, sent_at=n.sent_at)

    async def mark_sent_many(self, tx: Connection, sent: Sequence[Notification]) -> None:
        for n in sent:
            await self.mark_sent(tx, n)

    async def unsent_of(self, ids: Sequence[str]) -> list[Notification]:
        await self.db.outside()
        wanted = set(ids)
        return _oldest_first(n for n in self._state.messages.values()
                             if n.id in wanted and n.sent_at is None)

    async def unsent(self, limit: int) -> list[Notification]:
        await self.db.outside()
        return _oldest_first(n for n in self._state.messages.values()
                             if n.sent_at is None)[:limit]

    async def for_user(self, user_id: str, limit: int,
                       order_ids: Sequence[str] = ()) -> list[Notification]:
        await self.db.outside()
        return _newest_first((n for n in self._state.messages.values()
                              if n.user_id == user_id
                              and (not order_ids or n.order_id in order_ids)), limit)

    async def for_order(self, order_ids: Sequence[str], limit: int) -> list[Notification]:
        await self.db.outside()
        return _newest_first(
            (n for n in self._state.messages.values() if n.order_id in order_ids), limit)

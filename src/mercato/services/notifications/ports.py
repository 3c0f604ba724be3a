"""What the notifications handlers need from the world, as Protocols: their repository
and the mailer. The adapters (``store.py``, ``mailer.py``) implement them; the handlers'
tests run on an in-memory fake of the repository and a fake mailer (tests/support/memory,
tests/unit/notifications), and the repository's contract tests hold every implementation
to the same behaviour."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mercato.chassis.data import Connection, Database
from mercato.services.notifications.domain import Notification, Recipient


class NotificationRepository(Protocol):
    """Every message and whether it went out yet, and the recipients learnt from
    registrations. Writes take the caller's transaction (``tx``); the handlers open it on
    ``db``, through which the reads outside a unit of work go too."""

    db: Database

    async def get(self, notification_id: str) -> Notification | None:
        """The message stored under ``notification_id``, or None."""
        ...

    async def add(self, tx: Connection, n: Notification) -> tuple[Notification, bool]:
        """Store ``n`` (and True); the one already stored under its id (and False)."""
        ...

    async def insert(self, tx: Connection, n: Notification) -> bool:
        """Store ``n`` unless its id is there; True if stored."""
        ...

    async def recipient(self, tx: Connection, user_id: str) -> Recipient | None:
        """Where the user's mail goes and how to greet them, if they registered."""
        ...

    async def remember(self, tx: Connection, r: Recipient, at: str) -> None:
        """Keep the recipient, replacing what was known of the same user."""
        ...

    async def mark_sent(self, tx: Connection, n: Notification) -> None:
        """Record ``n.sent_at`` unless the message was marked sent already."""
        ...

    async def mark_sent_many(self, tx: Connection, sent: Sequence[Notification]) -> None:
        """``mark_sent`` for each of a batch, in the caller's transaction."""
        ...

    async def unsent_of(self, ids: Sequence[str]) -> list[Notification]:
        """Those of ``ids`` still unsent, oldest first (ties by id)."""
        ...

    async def unsent(self, limit: int) -> list[Notification]:
        """At most ``limit`` unsent messages, oldest first (ties by id)."""
        ...

    async def for_user(self, user_id: str, limit: int,
                       order_ids: Sequence[str] = ()) -> list[Notification]:
        """At most ``limit`` of the user's messages (about any of ``order_ids`` if some
        are given), newest first (ties by id, descending)."""
        ...

    async def for_order(self, order_ids: Sequence[str], limit: int) -> list[Notification]:
        """At most ``limit`` messages about any of the orders (none for no order), whoever
        they went to, newest first (ties by id, descending)."""
        ...


class Mailer(Protocol):
    """Sends notifications as mail; raises when it could not."""

    async def send(self, notification: Notification) -> None:
        """Mail one message."""
        ...

    async def send_many(self, notifications: Sequence[Notification]) -> None:
        """All of them, in order, as one unit of work (the costs of a mail, a thread hop
        and an fsync, are paid once per batch); when it raises, none counts as sent and
        the caller sends them all again."""
        ...

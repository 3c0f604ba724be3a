"""Notifications commands, events and queries: store the message, then send it.

Storing comes first and is idempotent by notification id; the mail goes out after the
commit and the message is marked sent. A repeat of an unsent message (the mail failed, or
the process died in between) sends it, and the sender (sender.py) sends whatever is still
unsent, a batch at a time (one mailing, one transaction marking it sent), so a message is
sent at least once and, in the normal case, exactly once.

An event's message is stored in the consumer's transaction, with its inbox row, and its
id derives from the event id: a redelivered event never stores a second message. The
commit wakes the sender; nothing is mailed inside the transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from weakref import WeakValueDictionary

from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection, Database
from mercato.chassis.errors import DependencyUnavailable
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import NotYet
from mercato.chassis.security import Principal
from mercato.contracts.envelope import Envelope, Event
from mercato.contracts.identity import UserRegistered
from mercato.services.notifications.domain import IdempotencyMismatch, Notification, Recipient
from mercato.services.notifications.messages import compose, notification_id
from mercato.services.notifications.ports import Mailer, NotificationRepository

log = get_logger(__name__)
# Seconds an event about a customer waits for their registration (another stream, so in no
# particular order) before it is written to the user id instead of their address. Under the
# consumer's backoff (0.5, 2, 5, 15 s) the fifth and last delivery comes ~22.5 s after the
# first, past this: an event is never dead-lettered for want of a registration.
RECIPIENT_WAIT = 20.0


@dataclass(frozen=True)
class SendNotification:
    notification_id: str
    user_id: str
    kind: str
    subject: str
    body: str
    order_id: str | None = None
    email: str | None = None


@dataclass
class Notifications:
    """The notifications handlers, with their dependencies."""

    store: NotificationRepository
    mailer: Mailer
    clock: Clock
    # One send per id at a time in this process, so a duplicate never mails twice.
    _locks: WeakValueDictionary = field(default_factory=WeakValueDictionary, init=False)
    # Set after a commit that stored an unsent message; the sender waits on it.
    unsent: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    @property
    def db(self) -> Database:
        """The notifications database: handlers open the transaction, the repository's
        methods take it (docs/production.md's one shape)."""
        return self.store.db

    def _lock(self, notification_id: str) -> asyncio.Lock:
        lock = self._locks.get(notification_id)
        if lock is None:
            lock = self._locks[notification_id] = asyncio.Lock()
        return lock

    async def send(self, cmd: SendNotification) -> Notification:
        """Store and send one message: NotificationError if it breaks a rule,
        IdempotencyMismatch if its id came before with other content,
        DependencyUnavailable if it is stored but the mail could not go out yet."""
        candidate = Notification(
            id=cmd.notification_id, user_id=cmd.user_id, kind=cmd.kind,
            subject=cmd.subject, body=cmd.body, order_id=cmd.order_id, email=cmd.email,
            created_at=iso(self.clock()),
        )
        async with self._lock(candidate.id):
            async with self.db.transaction() as tx:
                stored, created = await self.store.add(tx, candidate)
            if not created and not stored.same_request(candidate):
                raise IdempotencyMismatch(candidate.id)
            if stored.sent_at is None:
                stored = await self._deliver(stored)
            return stored

    async def on_message_event(self, tx: Connection, envelope: Envelope, event: Event) -> None:
        """An order outcome, a scheduled shipment or a refund: one message to the
        customer, at their address. An event heard before the customer's registration
        (identity's stream may lag the others) is redelivered later (NotYet), for up to
        ``RECIPIENT_WAIT`` seconds after it occurred; then it is written to the user id."""
        draft = compose(event)
        recipient = await self.store.recipient(tx, draft.user_id)
        if recipient is None and self._age(envelope) < RECIPIENT_WAIT:
            raise NotYet(f"the registration of user {draft.user_id} is not known yet")
        message = Notification(
            id=notification_id(envelope.id), user_id=draft.user_id, kind=draft.kind,
            subject=draft.subject, body=recipient.greet(draft.body) if recipient else draft.body,
            order_id=draft.order_id, email=recipient.email if recipient else None,
            created_at=iso(self.clock()))
        if await self.store.insert(tx, message):
            tx.on_commit(self.unsent.set)

    def _age(self, envelope: Envelope) -> float:
        """Seconds since the event occurred, by this service's clock."""
        return (self.clock() - datetime.fromisoformat(envelope.occurred_at)).total_seconds()

    async def on_user_registered(self, tx: Connection, envelope: Envelope,
                                 event: UserRegistered) -> None:
        """Remember where to write to the user and how to greet them."""
        recipient = Recipient(event.user_id, event.email, event.name.strip())
        await self.store.remember(tx, recipient, iso(self.clock()))

    async def deliver_pending(self, batch: int = 100) -> int:
        """Send every stored message that has not gone out yet; how many were sent.

        Each batch is mailed with one ``send_many`` and marked sent in one transaction,
        under the per-id locks of its messages, so a concurrent ``send`` of one of them
        waits and then finds it sent. A message whose lock is held is being sent right
        now by ``send``, which mails it or fails (and this sender's next pass
        picks it up): it is skipped, never waited for, and the pass ends when only such
        messages are left. Locks are taken in id order, so two passes never deadlock.
        """
        sent = 0
        while pending := await self.store.unsent(batch):
            held = await self._lock_free(sorted(n.id for n in pending))
            if not held:
                break
            try:
                # Re-read under the locks: a send may have completed since the query.
                current = await self.store.unsent_of(list(held))
                if current:
                    await self.mailer.send_many(current)
                    at = iso(self.clock())
                    async with self.db.transaction() as tx:
                        await self.store.mark_sent_many(tx, [n.sent(at) for n in current])
                    sent += len(current)
            finally:
                for lock in held.values():
                    lock.release()
        return sent

    async def _lock_free(self, ids: list[str]) -> dict[str, asyncio.Lock]:
        """Lock those of ``ids`` (in their order) that nobody holds; the locks taken, by
        id (held here: the registry only keeps a lock while someone refers to it)."""
        held: dict[str, asyncio.Lock] = {}
        try:
            for nid in ids:
                lock = self._lock(nid)
                if not lock.locked():
                    await lock.acquire()  # at once, unless a waiter was just woken
                    held[nid] = lock
        except BaseException:
            for lock in held.values():
                lock.release()
            raise
        return held

    async def messages_for(self, caller: Principal, limit: int,
                           order_ids: Sequence[str] = ()) -> list[Notification]:
        """The caller's newest messages, those about any of ``order_ids`` if some are
        given (an admin's: every customer's messages about them)."""
        order_ids = list(dict.fromkeys(order_ids))  # a repeated id asks nothing more
        if order_ids and caller.is_admin:
            return await self.store.for_order(order_ids, limit)
        return await self.store.for_user(caller.subject, limit, order_ids)

    async def _deliver(self, n: Notification) -> Notification:
        try:
            await self.mailer.send(n)
        except Exception as exc:
            log.warning("notification_not_sent", notification_id=n.id, error=str(exc))
            raise DependencyUnavailable(
                f"notification {n.id} is stored but could not be sent yet; repeat the "
                "request to send it", kind="mail-unavailable", retry_after=1) from exc
        sent = n.sent(iso(self.clock()))
        async with self.db.transaction() as tx:
            await self.store.mark_sent(tx, sent)
        return sent

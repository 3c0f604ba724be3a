"""The background sender: mails every stored, unsent message, outside any transaction.

It wakes when a commit stored a message (``Notifications.unsent``): at once after a quiet
spell, and in a burst at most once per ``linger`` seconds, so that the messages of the
burst go out as one batch (one thread hop, one fsync, one transaction) rather than one
each; it polls as a fallback
(messages stored by another instance, or whose mail failed on the internal route), and
backs off while the mailer fails, so a full disk only delays mail.
"""

from __future__ import annotations

from mercato.chassis.logging import get_logger
from mercato.chassis.worker import Worker
from mercato.services.notifications.handlers import Notifications

log = get_logger(__name__)
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class PendingMailSender:
    """The sender's background worker (chassis ``Worker``, woken by ``unsent``)."""

    def __init__(self, notifications: Notifications, *, poll: float = 10.0,
                 backoff: tuple[float, ...] = BACKOFF, linger: float = 0.05) -> None:
        self.notifications = notifications
        self.sent = 0
        self.worker = Worker("notifications-sender", self._pass, poll=poll,
                             wakeup=notifications.unsent, linger=linger, backoff=backoff,
                             failed="pending_notifications_not_sent")

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    async def _pass(self) -> None:
        sent = await self.notifications.deliver_pending()
        if sent:
            self.sent += sent
            log.info("pending_notifications_sent", count=sent)

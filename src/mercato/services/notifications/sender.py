"""The background sender: mails every stored, unsent message, outside any transaction.

It wakes when a commit stored a message (``Notifications.unsent``): at once after a quiet
spell, and in a burst at most once per ``linger`` seconds, so that the messages of the
burst go out as one batch (one thread hop, one fsync, one transaction) rather than one
each; it polls as a fallback
(messages stored by another instance, or whose mail failed on the internal route), and
backs off while the mailer fails, so a full disk only delays mail.
"""

from __future__ import annotations

import asyncio
import contextlib

from mercato.chassis.logging import get_logger
from mercato.chassis.tasks import pace, stop_tasks
from mercato.services.notifications.handlers import Notifications

log = get_logger(__name__)
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class PendingMailSender:
    def __init__(self, notifications: Notifications, *, poll: float = 10.0,
                 backoff: tuple[float, ...] = BACKOFF, linger: float = 0.05) -> None:
        self.notifications = notifications
        self.poll = poll
        self.linger = linger
        self.backoff = backoff
        self.sent = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notifications-sender")

    async def stop(self) -> None:
        await stop_tasks([self._task])

    async def _run(self) -> None:
        failures = 0
        wakeup = self.notifications.unsent
        loop = asyncio.get_running_loop()
        while True:
            wakeup.clear()  # before looking: a commit during the pass wakes the next one
            last_run = loop.time()
            try:
                sent = await self.notifications.deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                log.warning("pending_notifications_not_sent", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if sent:
                self.sent += sent
                log.info("pending_notifications_sent", count=sent)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await wakeup.wait()
                    await pace(last_run, self.linger)

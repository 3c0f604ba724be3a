"""Notifications test doubles: a mailer that remembers or fails, a command builder."""

from __future__ import annotations

import asyncio

from mercato.services.notifications.handlers import SendNotification


class InMemoryMailer:
    def __init__(self) -> None:
        self.sent: list = []
        self.batches: list[list[str]] = []  # the ids of each successful send_many
        self.failures = 0  # how many of the next sends (or batches) fail
        self.gate: asyncio.Event | None = None  # when set up, each send waits for it
        self.started: list[str] = []  # ids whose mailing began (before the gate)

    async def send(self, notification) -> None:
        await self._mail([notification])

    async def send_many(self, notifications) -> None:
        await self._mail(list(notifications))
        self.batches.append([n.id for n in notifications])

    async def _mail(self, notifications: list) -> None:
        self.started.extend(n.id for n in notifications)
        await asyncio.sleep(0)  # a real mailer yields, letting duplicates interleave
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("disk full (scripted)")
        self.sent.extend(notifications)


def send_cmd(notification_id: str = "n-1", **changes) -> SendNotification:
    fields = dict(notification_id=notification_id, user_id="user-1", kind="order_confirmed",
                  subject="Your order is confirmed", body="Thank you for your order.",
                  order_id="order-1")
    fields.update(changes)
    return SendNotification(**fields)

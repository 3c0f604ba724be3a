"""Notifications test doubles: a mailer that remembers or fails, a command builder."""

from __future__ import annotations

import asyncio

from mercato.services.notifications.handlers import SendNotification


class InMemoryMailer:
    def __init__(self) -> None:
        self.sent: list = []
        self.failures = 0  # how many of the next sends fail

    async def send(self, notification) -> None:
        await asyncio.sleep(0)  # a real mailer yields, letting duplicates interleave
        if self.failures:
            self.failures -= 1
            raise OSError("disk full (scripted)")
        self.sent.append(notification)


def send_cmd(notification_id: str = "n-1", **changes) -> SendNotification:
    fields = dict(notification_id=notification_id, user_id="user-1", kind="order_confirmed",
                  subject="Your order is confirmed", body="Thank you for your order.",
                  order_id="order-1")
    fields.update(changes)
    return SendNotification(**fields)

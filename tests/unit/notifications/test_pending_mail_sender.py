"""The background sender mails what a commit stored, and rides out a failing mailer."""

from __future__ import annotations

import asyncio

from mercato.services.notifications.sender import PendingMailSender
from tests.support.messages import envelope
from tests.unit.notifications.notification_doubles import InMemoryMailer
from tests.unit.notifications.test_notification_events import CONFIRMED


async def until(predicate, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not true after {timeout}s")


async def store_event(notes, event_id: str) -> None:
    async with notes.store.db.transaction() as tx:
        await notes.on_message_event(tx, envelope(CONFIRMED, event_id), CONFIRMED)


async def test_the_sender_mails_a_message_as_soon_as_its_transaction_commits(
        make_notifications):
    mailer = InMemoryMailer()
    notes = await make_notifications(mailer)
    sender = PendingMailSender(notes, poll=3600)  # no polling: only the wake-up can send
    sender.start()
    try:
        await store_event(notes, "e-1")
        await until(lambda: len(mailer.sent) == 1)
        await store_event(notes, "e-2")
        await until(lambda: len(mailer.sent) == 2)
    finally:
        await sender.stop()
    assert sender.sent == 2
    assert await notes.store.unsent(10) == []


async def test_the_first_pass_sends_what_an_earlier_run_left_unsent(make_notifications):
    mailer = InMemoryMailer()
    notes = await make_notifications(mailer)
    await store_event(notes, "e-1")
    notes.unsent.clear()  # as after a restart: nobody woke it
    sender = PendingMailSender(notes, poll=3600)
    sender.start()
    try:
        await until(lambda: len(mailer.sent) == 1)
    finally:
        await sender.stop()


async def test_a_failing_mailer_is_retried_with_backoff_and_mails_once(make_notifications):
    mailer = InMemoryMailer()
    mailer.failures = 2
    notes = await make_notifications(mailer)
    sender = PendingMailSender(notes, poll=3600, backoff=(0.01,))
    await store_event(notes, "e-1")
    sender.start()
    try:
        await until(lambda: len(mailer.sent) == 1)
        await asyncio.sleep(0.05)
    finally:
        await sender.stop()
    assert len(mailer.sent) == 1 and mailer.failures == 0
    assert await notes.store.unsent(10) == []


async def test_a_burst_of_commits_is_mailed_as_one_batch(make_notifications):
    mailer = InMemoryMailer()
    notes = await make_notifications(mailer)
    sender = PendingMailSender(notes, poll=3600, linger=0.5)
    sender.start()
    try:
        await asyncio.sleep(0.05)  # its first pass: nothing to send
        for n in range(4):  # four commits, each waking it
            await store_event(notes, f"e-{n}")
            await asyncio.sleep(0.01)  # its chance to run between them
        await until(lambda: len(mailer.sent) == 4)
    finally:
        await sender.stop()
    assert [len(batch) for batch in mailer.batches] == [4]

"""Sending notifications on the in-memory repository and a fake mailer."""

import asyncio

import pytest

from mercato.chassis import Principal
from mercato.chassis.errors import DependencyUnavailable
from mercato.services.notifications.domain import IdempotencyMismatch, NotificationError
from tests.unit.notifications.notification_doubles import InMemoryMailer, send_cmd


def user(subject: str) -> Principal:
    return Principal(subject=subject, roles=frozenset({"customer"}))


async def test_sending_stores_the_message_mails_it_and_marks_it_sent(make_notifications):
    mailer = InMemoryMailer()
    notes = await make_notifications(mailer)
    sent = await notes.send(send_cmd())
    assert [n.id for n in mailer.sent] == ["n-1"]
    assert sent.sent_at is not None
    assert await notes.store.get("n-1") == sent


async def test_repeating_a_send_returns_the_first_message_and_mails_once(make_notifications):
    mailer = InMemoryMailer()
    notes = await make_notifications(mailer)
    first = await notes.send(send_cmd())
    again = await notes.send(send_cmd())
    assert again == first
    assert len(mailer.sent) == 1


async def test_concurrent_duplicates_mail_once(make_notifications):
    mailer = InMemoryMailer()
    notes = await make_notifications(mailer)
    results = await asyncio.gather(*(notes.send(send_cmd()) for _ in range(5)))
    assert len({r.created_at for r in results}) == 1
    assert len(mailer.sent) == 1


async def test_the_same_id_with_another_body_is_refused(make_notifications):
    notes = await make_notifications()
    await notes.send(send_cmd())
    with pytest.raises(IdempotencyMismatch, match="notification n-1 was first sent with"):
        await notes.send(send_cmd(body="Something else"))


async def test_a_failing_mailer_gives_503_and_a_repeat_sends_the_stored_message(
    make_notifications,
):
    mailer = InMemoryMailer()
    mailer.failures = 1
    notes = await make_notifications(mailer)
    with pytest.raises(DependencyUnavailable) as caught:
        await notes.send(send_cmd())
    assert (caught.value.kind, caught.value.retry_after) == ("mail-unavailable", 1)
    assert (await notes.store.get("n-1")).sent_at is None
    sent = await notes.send(send_cmd())
    assert sent.sent_at is not None
    assert [n.id for n in mailer.sent] == ["n-1"]


async def test_start_up_sends_whatever_was_stored_but_not_sent(make_notifications):
    mailer = InMemoryMailer()
    mailer.failures = 2
    notes = await make_notifications(mailer)
    for nid in ("n-1", "n-2"):
        with pytest.raises(DependencyUnavailable):
            await notes.send(send_cmd(nid))
    await notes.send(send_cmd("n-3"))
    assert await notes.deliver_pending() == 2
    assert sorted(n.id for n in mailer.sent) == ["n-1", "n-2", "n-3"]
    assert await notes.store.unsent(10) == []
    assert await notes.deliver_pending() == 0


async def test_a_user_sees_only_their_messages_newest_first(make_notifications):
    notes = await make_notifications()
    await notes.send(send_cmd("n-1", subject="first"))
    await notes.send(send_cmd("n-2", user_id="user-2", subject="not yours"))
    await notes.send(send_cmd("n-3", subject="second", order_id=None))
    mine = await notes.messages_for(user("user-1"), limit=50)
    assert [n.subject for n in mine] == ["second", "first"]
    assert [n.id for n in await notes.messages_for(user("user-1"), limit=1)] == ["n-3"]
    assert [n.id for n in await notes.messages_for(user("user-3"), limit=50)] == []


async def test_a_multi_line_subject_is_refused_before_anything_is_stored(make_notifications):
    notes = await make_notifications()
    with pytest.raises(NotificationError, match="subject must be one line"):
        await notes.send(send_cmd(subject="a\nBcc: victim@example.com"))
    assert await notes.store.get("n-1") is None

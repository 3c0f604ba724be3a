"""The sender's pass mails the unsent messages a batch at a time: one mailing and one
transaction per batch, all or nothing, and never twice beside a concurrent send."""

import asyncio

import pytest

from mercato.chassis.errors import DependencyUnavailable
from tests.unit.notifications.notification_doubles import InMemoryMailer, send_cmd
from tests.unit.notifications.test_pending_mail_sender import until


async def unsent_messages(make_notifications, ids, mailer=None):
    """Notifications holding ``ids`` stored but unsent (their first mailing failed)."""
    mailer = mailer or InMemoryMailer()
    notes = await make_notifications(mailer)
    mailer.failures = len(ids)
    for nid in ids:
        with pytest.raises(DependencyUnavailable):
            await notes.send(send_cmd(nid))
    mailer.started.clear()
    return notes, mailer


def count_transactions(db) -> list:
    opened = []
    real = db.transaction

    def counting():
        opened.append(1)
        return real()

    db.transaction = counting
    return opened


async def test_a_pass_mails_the_batch_once_and_marks_it_sent_in_one_transaction(
        make_notifications):
    notes, mailer = await unsent_messages(make_notifications, ["n-1", "n-2", "n-3"])
    transactions = count_transactions(notes.store.db)
    assert await notes.deliver_pending() == 3
    assert mailer.batches == [["n-1", "n-2", "n-3"]]  # oldest first
    assert len(transactions) == 1
    assert await notes.store.unsent(10) == []
    assert len({(await notes.store.get(n)).sent_at for n in ("n-1", "n-2", "n-3")}) == 1


async def test_more_than_a_batch_goes_out_in_several(make_notifications):
    ids = [f"n-{i}" for i in range(1, 6)]
    notes, mailer = await unsent_messages(make_notifications, ids)
    assert await notes.deliver_pending(batch=2) == 5
    assert mailer.batches == [["n-1", "n-2"], ["n-3", "n-4"], ["n-5"]]


async def test_a_failing_mailing_leaves_the_whole_batch_unsent_for_the_retry(
        make_notifications):
    notes, mailer = await unsent_messages(make_notifications, ["n-1", "n-2"])
    mailer.failures = 1
    with pytest.raises(OSError, match="disk full"):
        await notes.deliver_pending()
    assert [n.id for n in await notes.store.unsent(10)] == ["n-1", "n-2"]
    assert await notes.deliver_pending() == 2
    assert [n.id for n in mailer.sent] == ["n-1", "n-2"]


async def test_a_batch_mailed_but_not_recorded_is_mailed_again_at_least_once(
        make_notifications):
    notes, mailer = await unsent_messages(make_notifications, ["n-1", "n-2"])
    real = notes.store.mark_sent_many

    async def fail_once(tx, sent):
        notes.store.mark_sent_many = real
        raise OSError("database gone (scripted)")

    notes.store.mark_sent_many = fail_once
    with pytest.raises(OSError):
        await notes.deliver_pending()
    assert len(await notes.store.unsent(10)) == 2
    assert await notes.deliver_pending() == 2
    assert mailer.batches == [["n-1", "n-2"], ["n-1", "n-2"]]


async def test_a_pass_skips_a_message_that_a_send_is_mailing_and_it_goes_out_once(
        make_notifications):
    notes, mailer = await unsent_messages(make_notifications, ["n-1", "n-2"])
    mailer.gate = asyncio.Event()
    repeat = asyncio.create_task(notes.send(send_cmd("n-1")))
    await until(lambda: mailer.started == ["n-1"])  # the send holds n-1's lock
    sweep = asyncio.create_task(notes.deliver_pending())
    await until(lambda: len(mailer.started) == 2)
    mailer.gate.set()
    sent, swept = await asyncio.gather(repeat, sweep)
    assert sent.sent_at is not None and swept == 1
    assert sorted(n.id for n in mailer.sent) == ["n-1", "n-2"]
    assert mailer.batches == [["n-2"]]
    assert await notes.store.unsent(10) == []


async def test_a_send_during_a_pass_waits_for_it_and_finds_the_message_sent(
        make_notifications):
    notes, mailer = await unsent_messages(make_notifications, ["n-1", "n-2"])
    mailer.gate = asyncio.Event()
    sweep = asyncio.create_task(notes.deliver_pending())
    await until(lambda: mailer.started == ["n-1", "n-2"])  # the pass holds both locks
    repeat = asyncio.create_task(notes.send(send_cmd("n-2")))
    await asyncio.sleep(0.01)
    assert not repeat.done()
    mailer.gate.set()
    swept, sent = await asyncio.gather(sweep, repeat)
    assert swept == 2 and sent.sent_at is not None
    assert [n.id for n in mailer.sent] == ["n-1", "n-2"]


async def test_two_passes_at_once_mail_each_message_once_and_do_not_deadlock(
        make_notifications):
    notes, mailer = await unsent_messages(make_notifications, ["n-1", "n-2", "n-3"])
    mailer.gate = asyncio.Event()
    first = asyncio.create_task(notes.deliver_pending())
    await until(lambda: len(mailer.started) == 3)
    second = asyncio.create_task(notes.deliver_pending())
    await asyncio.sleep(0.01)
    mailer.gate.set()
    counts = await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert sorted(counts) == [0, 3]
    assert [n.id for n in mailer.sent] == ["n-1", "n-2", "n-3"]


async def test_a_message_sent_between_the_query_and_the_locks_is_not_mailed_again(
        make_notifications):
    notes, mailer = await unsent_messages(make_notifications, ["n-1", "n-2"])
    query = notes.store.unsent

    async def query_then_a_send_completes(limit):
        found = await query(limit)
        if found:
            await notes.send(send_cmd("n-1"))
        return found

    notes.store.unsent = query_then_a_send_completes
    assert await notes.deliver_pending() == 1
    assert [n.id for n in mailer.sent] == ["n-1", "n-2"]

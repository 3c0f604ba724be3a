"""The messages of one fetch share one transaction, each in a savepoint: a poison message
rolls back only its own effects (and its after-commit callbacks) and is nak'ed or
dead-lettered, the others are committed once and acked after the commit; redelivering
the whole batch doubles nothing. If the transaction itself is lost, each message is
handled on its own."""

from __future__ import annotations

import dataclasses
import sqlite3
from types import SimpleNamespace

import pytest

from mercato.chassis.data.db import DatabaseBusy, DatabaseDeadlock
from mercato.chassis.messaging import Consumers, Subscription
from mercato.contracts.catalog import ProductCreated
from tests.support.messages import FakeMessage, envelope, inbox

CONSUMER = "inventory__products"
EVENT = ProductCreated(product_id="p", sku="s", name="n", category="c", price=1,
                       currency="USD")


class RecordingJetStream:
    def __init__(self) -> None:
        self.published: list[dict] = []

    async def publish(self, subject, data, headers=None, stream=None, timeout=None):
        self.published.append(headers or {})


def batch(ids: list[str], attempt: int = 1) -> list[FakeMessage]:
    return [FakeMessage(envelope(EVENT, i).model_dump_json().encode(), "catalog.x", attempt,
                        stream_seq=n) for n, i in enumerate(ids, 1)]


@pytest.fixture
async def world(service_db_for):
    db = await service_db_for("inventory")
    state = SimpleNamespace(poison=set(), kill_tx=set(), calls=[], callbacks=[],
                            at_first_ack=None)

    async def handler(tx, env, event) -> None:
        state.calls.append(env.id)
        # an effect of the handler, in the same transaction: a row under another consumer
        await tx.execute("INSERT INTO inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)",
                         "effects", env.id, "t")
        tx.on_commit(lambda: state.callbacks.append(env.id))
        if env.id in state.kill_tx:  # as when SQLite itself rolls the transaction back
            await tx.execute("ROLLBACK")
            raise sqlite3.OperationalError("disk I/O error")
        if env.id in state.poison:
            raise RuntimeError(f"poison {env.id}")

    def crash_point(point: str) -> None:
        if state.at_first_ack is None:  # what another connection sees: committed rows
            with sqlite3.connect(db.path) as other:
                state.at_first_ack = sorted(r[0] for r in other.execute(
                    "SELECT event_id FROM inbox WHERE consumer = ?", (CONSUMER,)))

    sub = Subscription("products", (ProductCreated,), handler, max_attempts=3)
    js = RecordingJetStream()
    consumers = Consumers("inventory", db, js, [sub], backoff=(1.0, 2.0),
                          crash_point=crash_point)
    return SimpleNamespace(db=db, sub=sub, js=js, consumers=consumers, state=state)


async def test_one_poison_message_neither_loses_nor_doubles_the_others(world):
    world.state.poison = {"e2"}
    first = batch(["e1", "e2", "e3"])
    await world.consumers.handle_batch(world.sub, first)
    assert [(m.acks, m.naks) for m in first] == [(1, []), (0, [1.0]), (1, [])]
    assert await inbox(world.db, CONSUMER) == ["e1", "e3"]
    assert await inbox(world.db, "effects") == ["e1", "e3"]  # e2's effect rolled back
    assert world.state.callbacks == ["e1", "e3"]  # and its after-commit callback dropped
    assert world.state.at_first_ack == ["e1", "e3"]  # committed before any ack
    assert world.consumers.handled == 2

    world.state.poison = set()  # the whole batch again, e2 now succeeds
    again = batch(["e1", "e2", "e3"], attempt=2)
    await world.consumers.handle_batch(world.sub, again)
    assert [(m.acks, m.naks) for m in again] == [(1, []), (1, []), (1, [])]
    assert world.state.calls == ["e1", "e2", "e3", "e2"]  # e1, e3 not handled twice
    assert await inbox(world.db, CONSUMER) == ["e1", "e2", "e3"]
    assert await inbox(world.db, "effects") == ["e1", "e2", "e3"]
    assert world.js.published == []


async def test_a_poison_message_at_max_attempts_is_dead_lettered_and_the_rest_commit(world):
    world.state.poison = {"e1"}
    msgs = batch(["e1", "e2"], attempt=3)
    await world.consumers.handle_batch(world.sub, msgs)
    assert [(m.acks, m.naks) for m in msgs] == [(1, []), (1, [])]
    [headers] = world.js.published
    assert headers["Mercato-Event-Id"] == "e1" and "poison e1" in headers["Mercato-Error"]
    assert await inbox(world.db, CONSUMER) == ["e2"]
    assert await inbox(world.db, "effects") == ["e2"]


async def test_a_lost_transaction_falls_back_to_one_transaction_per_message(world):
    world.state.kill_tx = {"e2"}
    msgs = batch(["e1", "e2", "e3"])
    await world.consumers.handle_batch(world.sub, msgs)
    assert [(m.acks, m.naks) for m in msgs] == [(1, []), (0, [1.0]), (1, [])]
    assert await inbox(world.db, CONSUMER) == ["e1", "e3"]
    assert await inbox(world.db, "effects") == ["e1", "e3"]
    assert world.state.callbacks == ["e1", "e3"]


async def test_an_unbatched_subscription_gives_each_message_a_transaction_of_its_own(world):
    transactions = []
    opened = world.db.transaction

    def counting(**kwargs):
        transactions.append(kwargs)
        return opened(**kwargs)

    world.db.transaction = counting
    unbatched = dataclasses.replace(world.sub, batched=False)
    world.state.poison = {"e2"}
    msgs = batch(["e1", "e2", "e3"])
    await world.consumers.handle_batch(unbatched, msgs)
    assert len(transactions) == 3  # one per message, not one for the fetch
    assert [(m.acks, m.naks) for m in msgs] == [(1, []), (0, [1.0]), (1, [])]
    assert await inbox(world.db, CONSUMER) == ["e1", "e3"]
    assert world.state.callbacks == ["e1", "e3"]

    transactions.clear()
    await world.consumers.handle_batch(world.sub, batch(["e4", "e5"]))
    assert len(transactions) == 1  # batched (the default): the fetch in one transaction
    assert world.state.callbacks == ["e1", "e3", "e4", "e5"]


async def test_a_database_that_refuses_naks_the_batch_at_once_and_never_dead_letters(world):
    """F9: the database locked or full says nothing of the messages: the fetch is nak'ed
    together (not retried one by one against the same refusal), and a message past its
    max attempts is not dead-lettered for it."""
    transactions = []

    def refusing(**kwargs):
        transactions.append(kwargs)
        raise DatabaseBusy("inventory.db stayed locked by another process for 5.0s")

    world.db.transaction = refusing
    msgs = batch(["e1", "e2"], attempt=3)  # at max_attempts
    await world.consumers.handle_batch(world.sub, msgs)
    assert len(transactions) == 1
    assert [(m.acks, m.naks) for m in msgs] == [(0, [2.0]), (0, [2.0])]
    assert world.js.published == []  # nothing dead-lettered


async def test_a_message_that_deadlocks_every_time_is_dead_lettered_at_max_attempts(world):
    """A deadlock is retryable, but one at every attempt is the work's own (a lock-order
    bug): unlike a locked or full database it does not heal by itself, so the message is
    dead-lettered at its max attempts rather than retried for ever."""
    def deadlocking(**kwargs):
        raise DatabaseDeadlock("PostgreSQL ended this transaction to break a deadlock")

    world.db.transaction = deadlocking
    (msg,) = batch(["e1"], attempt=3)  # at max_attempts
    await world.consumers.handle_batch(world.sub, [msg])
    assert msg.acks == 1 and len(world.js.published) == 1  # dead-lettered, then acked

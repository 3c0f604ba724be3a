"""Subscriptions with ``own_transaction`` through ``Consumers.handle`` and a real migrated
database: the handler gets no connection and the inbox row is written only after it
returns, a redelivered event id is not handled again, and a handler that fails (or says
``NotYet``) leaves no inbox row and is nak'ed with the backoff delay until ``max_attempts``,
then dead-lettered."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mercato.chassis.messaging import Consumers, NotYet, Subscription
from mercato.contracts.catalog import ProductCreated
from tests.support.messages import deliver, envelope, inbox

BACKOFF = (1.0, 2.0, 3.0)
CONSUMER = "inventory__reactions"
EVENT = ProductCreated(product_id="p", sku="s", name="n", category="c", price=1,
                       currency="USD")


class RecordingJetStream:
    """Stands in for JetStream where the consumer dead-letters: records what it stores."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict]] = []

    async def publish(self, subject, data, headers=None, stream=None, timeout=None):
        self.published.append((subject, headers or {}))


@pytest.fixture
async def world(service_db_for):
    db = await service_db_for("inventory")
    js = RecordingJetStream()
    calls: list[SimpleNamespace] = []
    behaviour: dict = {"raise": None}

    async def handler(tx, env, event) -> None:
        calls.append(SimpleNamespace(tx=tx, event_id=env.id, event=event,
                                     inbox=await inbox(db, CONSUMER)))
        if behaviour["raise"] is not None:
            raise behaviour["raise"]

    sub = Subscription("reactions", (ProductCreated,), handler, max_attempts=3,
                       own_transaction=True)
    consumers = Consumers("inventory", db, js, [sub], backoff=BACKOFF)
    return SimpleNamespace(db=db, js=js, calls=calls, behaviour=behaviour, sub=sub,
                           consumers=consumers)


async def test_the_handler_gets_no_connection_and_the_inbox_row_comes_after_it(world):
    msg = await deliver(world.consumers, world.sub, envelope(EVENT, "e1"))
    [call] = world.calls
    assert call.tx is None and call.event == EVENT
    assert call.inbox == []  # not yet recorded while the handler ran
    assert await inbox(world.db, CONSUMER) == ["e1"]
    assert (msg.acks, msg.naks) == (1, [])
    assert world.consumers.handled == 1


async def test_a_second_delivery_of_the_same_event_is_not_handled_again(world):
    await deliver(world.consumers, world.sub, envelope(EVENT, "e1"))
    again = await deliver(world.consumers, world.sub, envelope(EVENT, "e1"), attempt=2)
    other = await deliver(world.consumers, world.sub, envelope(EVENT, "e2"))
    assert [c.event_id for c in world.calls] == ["e1", "e2"]
    assert again.acks == 1 and other.acks == 1
    assert await inbox(world.db, CONSUMER) == ["e1", "e2"]
    assert world.consumers.duplicates == {CONSUMER: 1}


@pytest.mark.parametrize("error", [NotYet("OrderPlaced not heard yet"),
                                   RuntimeError("provider down")])
async def test_a_failing_handler_is_naked_with_the_backoff_until_max_attempts(world, error):
    world.behaviour["raise"] = error
    first = await deliver(world.consumers, world.sub, envelope(EVENT, "e1"), attempt=1)
    second = await deliver(world.consumers, world.sub, envelope(EVENT, "e1"), attempt=2)
    assert (first.acks, first.naks) == (0, [1.0])
    assert (second.acks, second.naks) == (0, [2.0])
    assert world.js.published == []  # not dead-lettered before max_attempts
    assert await inbox(world.db, CONSUMER) == []
    assert len(world.calls) == 2  # no inbox row: each redelivery runs the handler
    last = await deliver(world.consumers, world.sub, envelope(EVENT, "e1"), attempt=3)
    assert (last.acks, last.naks) == (1, [])
    [(subject, headers)] = world.js.published
    assert subject.endswith(CONSUMER)
    assert headers["Mercato-Event-Id"] == "e1" and headers["Mercato-Attempts"] == "3"
    assert type(error).__name__ in headers["Mercato-Error"]
    assert await inbox(world.db, CONSUMER) == []


async def test_a_handler_that_succeeds_on_redelivery_is_recorded_then(world):
    world.behaviour["raise"] = NotYet("not yet")
    first = await deliver(world.consumers, world.sub, envelope(EVENT, "e1"), attempt=1)
    world.behaviour["raise"] = None
    second = await deliver(world.consumers, world.sub, envelope(EVENT, "e1"), attempt=2)
    assert first.naks == [1.0] and second.acks == 1
    assert await inbox(world.db, CONSUMER) == ["e1"]
    assert len(world.calls) == 2


async def test_without_own_transaction_the_handler_runs_inside_the_inbox_transaction(world):
    seen = []

    async def handler(tx, env, event) -> None:
        rows = await tx.fetch_all("SELECT event_id FROM inbox WHERE consumer = ?",
                                  "inventory__plain")
        seen.append((tx is not None, [r["event_id"] for r in rows]))

    plain = Subscription("plain", (ProductCreated,), handler)
    msg = await deliver(world.consumers, plain, envelope(EVENT, "e1"))
    assert seen == [(True, ["e1"])]  # recorded first, in the same transaction
    assert msg.acks == 1

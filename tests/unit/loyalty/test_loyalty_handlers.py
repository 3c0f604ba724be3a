"""The loyalty handlers on the in-memory ledger (held to the SQL adapter's behaviour by
tests/db_contract/test_loyalty_repository.py) and the in-memory outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.contracts.envelope import Envelope
from mercato.contracts.loyalty import LoyaltyPointsChanged
from mercato.contracts.orders import OrderDelivered, OrderRefunded
from mercato.services.loyalty.handlers import Loyalty
from tests.support.clock import StepClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.loyalty import MemoryLedgerRepository
from tests.support.memory.outbox import MemoryOutbox


@pytest.fixture
def loyalty() -> Loyalty:
    db = MemoryDatabase()
    return Loyalty(ledger=MemoryLedgerRepository(db), outbox=MemoryOutbox(db, "loyalty"),
                   clock=StepClock(datetime(2026, 12, 7, tzinfo=UTC)))


def envelope(event, event_id: str) -> Envelope:
    return Envelope(id=event_id, type=event.type_name(), source="orders",
                    occurred_at="2026-12-07T08:00:00+00:00",
                    payload=event.model_dump(mode="json"))


async def deliver(loyalty: Loyalty, order: str, total: int, event_id: str,
                  customer: str = "ada") -> None:
    event = OrderDelivered(order_id=order, customer_id=customer, total=total, currency="USD")
    async with loyalty.db.transaction() as tx:
        await loyalty.on_order_delivered(tx, envelope(event, event_id), event)


async def refund(loyalty: Loyalty, order: str, event_id: str, customer: str = "ada") -> None:
    event = OrderRefunded(order_id=order, customer_id=customer, total=0, currency="USD")
    async with loyalty.db.transaction() as tx:
        await loyalty.on_order_refunded(tx, envelope(event, event_id), event)


def changes(loyalty: Loyalty) -> list[LoyaltyPointsChanged]:
    return [e for _, e in loyalty.outbox.events()]


async def test_a_delivered_order_credits_its_points_and_says_so(loyalty):
    await deliver(loyalty, "o-1", 1999, "e-1")
    page = await loyalty.ledger_of("ada", 10)
    assert page.balance == 19
    assert [(e.order_id, e.kind.value, e.points, e.cause_event_id) for e in page.entries] == [
        ("o-1", "credit", 19, "e-1")]
    [changed] = changes(loyalty)
    assert (changed.customer_id, changed.balance, changed.sequence) == ("ada", 19, 1)
    assert changed.entry.order_id == "o-1" and changed.entry.points == 19


async def test_the_same_delivery_under_another_event_id_credits_once(loyalty):
    await deliver(loyalty, "o-1", 1999, "e-1")
    await deliver(loyalty, "o-1", 1999, "e-replayed")
    assert (await loyalty.ledger_of("ada", 10)).balance == 19
    assert len(changes(loyalty)) == 1


async def test_a_refund_reverses_the_orders_points_only(loyalty):
    await deliver(loyalty, "o-1", 1999, "e-1")
    await deliver(loyalty, "o-2", 500, "e-2")
    await refund(loyalty, "o-1", "e-3")
    await refund(loyalty, "o-1", "e-4")
    page = await loyalty.ledger_of("ada", 10)
    assert page.balance == 5
    assert [(e.order_id, e.kind.value, e.points) for e in page.entries] == [
        ("o-1", "reversal", -19), ("o-2", "credit", 5), ("o-1", "credit", 19)]
    assert [(c.balance, c.sequence) for c in changes(loyalty)] == [(19, 1), (24, 2), (5, 3)]


async def test_the_ledger_pages_newest_first(loyalty):
    for n in range(5):
        await deliver(loyalty, f"o-{n}", 100 * (n + 1), f"e-{n}")
    await deliver(loyalty, "o-bob", 100, "e-bob", customer="bob")
    first = await loyalty.ledger_of("ada", 3)
    assert [e.order_id for e in first.entries] == ["o-4", "o-3", "o-2"]
    rest = await loyalty.ledger_of("ada", 3, first.next)
    assert [e.order_id for e in rest.entries] == ["o-1", "o-0"]
    assert rest.next is None and rest.balance == first.balance == 15


async def test_facts_list_every_entry_for_verify(loyalty):
    await deliver(loyalty, "o-1", 1999, "e-1")
    await refund(loyalty, "o-1", "e-2")
    assert await loyalty.facts() == {"entries": [
        {"order_id": "o-1", "kind": "credit", "points": 19},
        {"order_id": "o-1", "kind": "reversal", "points": -19}]}

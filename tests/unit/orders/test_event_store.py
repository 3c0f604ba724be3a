"""The order event store on a real migrated database: appends in order, the optimistic
concurrency check, and the wake-up after commit."""

from __future__ import annotations

import json

import pytest

from mercato.chassis.messaging import Outbox
from mercato.services.orders.adapters.events import publish
from mercato.services.orders.adapters.eventstore import ConcurrencyError
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.domain.events import Line, OrderConfirmed, Recorded
from mercato.services.orders.domain.order import Order, Reason
from mercato.services.orders.domain.saga import CheckoutSaga
from tests.support.outbox import outbox_envelopes

ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}


def placed(order_id: str, at: str = "2026-01-01T10:00:00Z") -> list[Recorded]:
    return Order.place(order_id, "alice", [Line("p1", 2, 1299, "Mug")], "USD", ADDRESS, at)


@pytest.fixture
async def store(service_db_for):
    return SqlOrderRepository(await service_db_for("orders"))


async def place(store: SqlOrderRepository, order_id: str) -> Order:
    events = placed(order_id)
    async with store.db.transaction() as tx:
        await store.append(tx, events, expected_version=0)
    return Order.fold(events)


async def test_an_appended_order_reads_back_as_the_fold_of_its_events(store):
    order = await place(store, "o-1")
    confirmed = order.confirm("2026-01-01T10:00:05Z")
    async with store.db.transaction() as tx:
        await store.append(tx, confirmed, expected_version=1)
    assert await store.events.load("o-1") == [*placed("o-1"), *confirmed]
    again = await store.get_order("o-1")
    assert again.as_dict() == Order.fold([*placed("o-1"), *confirmed]).as_dict()
    assert again.version == 2
    assert await store.get_order("nope") is None


async def test_rows_hold_the_type_and_json_data_and_seq_counts_across_orders(store):
    order = await place(store, "o-1")
    await place(store, "o-2")
    async with store.db.transaction() as tx:
        await store.append(tx, order.confirm("2026-01-01T10:00:05Z"), expected_version=1)
    rows = await store.db.fetch_all(
        "SELECT seq, order_id, version, type, data, at FROM order_events ORDER BY seq")
    assert [(r["seq"], r["order_id"], r["version"], r["type"]) for r in rows] == [
        (1, "o-1", 1, "OrderPlaced"), (2, "o-2", 1, "OrderPlaced"),
        (3, "o-1", 2, "OrderConfirmed")]
    assert json.loads(rows[0]["data"])["lines"] == [
        {"product_id": "p1", "name": "Mug", "quantity": 2, "unit_price": 1299}]
    assert (rows[2]["data"], rows[2]["at"]) == ("{}", "2026-01-01T10:00:05Z")
    async with store.db.transaction() as tx:
        assert [s for s, _ in await store.events.read_all(tx, after=1, limit=1)] == [2]
    assert await store.events.last_seq() == 3


async def test_a_second_writer_from_the_same_version_fails_and_leaves_nothing(store):
    """Two writers fold the same state and decide; the first to append wins. The loser's
    whole transaction (its saga progress and its published event) rolls back."""
    outbox = Outbox(store.db, "orders")
    async with store.db.transaction() as tx:
        await store.append(tx, placed("o-1"), expected_version=0)
        await store.insert_saga(tx, CheckoutSaga("o-1", "tok_ok"), "t0")
    first, second = await store.get_order("o-1"), await store.get_order("o-1")
    async with store.db.transaction() as tx:
        await store.append(tx, first.confirm("t1"), expected_version=first.version)
    late = second.cancel(Reason.EXPIRED, "t2")
    saga = CheckoutSaga("o-1", "tok_ok", reason="expired")
    with pytest.raises(ConcurrencyError):
        async with store.db.transaction() as tx:
            await store.save_saga(tx, saga, "t2")
            await publish(outbox, tx, second, late)
            await store.append(tx, late, expected_version=second.version)
    assert [r.type for r in await store.events.load("o-1")] == [
        "OrderPlaced", "OrderConfirmed"]
    assert (await store.get_saga("o-1")).reason is None
    assert await outbox_envelopes(store.db) == []


async def test_placing_an_order_id_that_exists_is_a_concurrency_error(store):
    await place(store, "o-1")
    with pytest.raises(ConcurrencyError):
        await place(store, "o-1")


async def test_events_must_follow_the_expected_version_one_by_one(store):
    order = await place(store, "o-1")
    with pytest.raises(ValueError, match="consecutive"):
        async with store.db.transaction() as tx:
            await store.append(tx, order.confirm("t1"), expected_version=2)
    with pytest.raises(ValueError, match="consecutive"):
        async with store.db.transaction() as tx:
            await store.append(tx, [Recorded("o-1", 2, "t", OrderConfirmed()),
                                    Recorded("o-1", 4, "t", OrderConfirmed())], 1)


async def test_subscribers_are_woken_after_a_commit_that_appended_and_not_on_rollback(store):
    woken = []
    store.events.subscribe(lambda: woken.append("commit"))
    with pytest.raises(RuntimeError):
        async with store.db.transaction() as tx:
            await store.append(tx, placed("o-1"), expected_version=0)
            assert woken == []
            raise RuntimeError("rolled back")
    assert woken == [] and await store.events.load("o-1") == []
    async with store.db.transaction() as tx:
        await store.append(tx, placed("o-1"), expected_version=0)
        assert woken == []  # not before the commit
    assert woken == ["commit"]

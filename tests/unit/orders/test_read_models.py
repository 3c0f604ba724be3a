"""The read models: the customer's list, the order detail, the sales summary, fed by the
projector from the event store; positions, re-runs, a rebuild, and the fresh-order read."""

from __future__ import annotations

import asyncio

import pytest

from mercato.chassis.errors import NotFound
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.events import OrderPlaced
from mercato.services.orders.projections import Projector
from tests.unit.orders.conftest import ADMIN, ALICE, BOB, Shop, read_model_rows


@pytest.fixture
def shop(sql_shop):
    """The shop on a migrated database: the read models are SQL."""
    return sql_shop


DECLINED = Result("rejected", "402: declined")


async def a_day_of_trade(shop: Shop) -> dict[str, str]:
    """Orders of every outcome over three days, the projector running between them as
    it would in service; returns their ids by what happened to them."""
    ids = {}
    ids["kept"] = await shop.order(ALICE, ("p1", 2), ("p2", 1))
    shop.clock.advance(60)
    shop.fake.answer("authorize_payment", DECLINED)
    ids["declined"] = await shop.order(ALICE, ("p2", 4), card="tok_decline")
    await shop.projector.catch_up()
    shop.clock.advance(60)
    ids["refunded"] = await shop.order(BOB, ("p2", 3))
    shop.clock.advance(24 * 3600)  # the next day
    ids["euro"] = await shop.order(BOB, ("eur", 1))
    ids["next_day"] = await shop.order(ALICE, ("p1", 1))
    await shop.projector.catch_up()
    shop.clock.advance(24 * 3600)  # bob's refund comes a day after his order
    await shop.cancel(BOB, ids["refunded"])
    shop.clock.advance(60)
    shop.hold()
    ids["pending"] = await shop.order(ALICE, ("p1", 5), settle=False)
    await asyncio.sleep(0)  # its saga is now waiting on the reservation
    await shop.projector.catch_up()
    return ids


async def test_the_list_shows_a_customers_orders_newest_first_with_their_item_counts(shop):
    ids = await a_day_of_trade(shop)
    assert await shop.views.list_orders("alice", 10) == [
        {"id": ids["pending"], "status": "pending", "total": 5 * 1299, "currency": "USD",
         "created_at": "2026-03-03T09:03:00Z", "item_count": 5},
        {"id": ids["next_day"], "status": "confirmed", "total": 1299, "currency": "USD",
         "created_at": "2026-03-02T09:02:00Z", "item_count": 1},
        {"id": ids["declined"], "status": "cancelled", "total": 4 * 1800, "currency": "USD",
         "created_at": "2026-03-01T09:01:00Z", "item_count": 4},
        {"id": ids["kept"], "status": "confirmed", "total": 2 * 1299 + 1800,
         "currency": "USD", "created_at": "2026-03-01T09:00:00Z", "item_count": 3},
    ]
    assert [o["id"] for o in await shop.views.list_orders("alice", 2)] == [
        ids["pending"], ids["next_day"]]
    assert [(o["id"], o["status"]) for o in await shop.views.list_orders("bob", 10)] == [
        (ids["euro"], "confirmed"), (ids["refunded"], "cancelled")]
    assert await shop.views.list_orders("carol", 10) == []


async def test_the_detail_of_every_order_is_the_fold_of_its_events(shop):
    ids = await a_day_of_trade(shop)
    for order_id in ids.values():
        folded = (await shop.store.get_order(order_id)).as_dict()
        assert await shop.views.order_detail(ADMIN, order_id) == folded
    refunded = await shop.views.order_detail(BOB, ids["refunded"])
    assert [(h["status"], h["reason"]) for h in refunded["history"]] == [
        ("pending", None), ("confirmed", None), ("cancelled", "customer_request")]
    assert (refunded["status"], refunded["reason"]) == ("cancelled", "customer_request")


async def test_another_customers_order_is_not_found_in_the_detail(shop):
    ids = await a_day_of_trade(shop)
    with pytest.raises(NotFound, match=f"order {ids['kept']} was not found"):
        await shop.views.order_detail(BOB, ids["kept"])
    with pytest.raises(NotFound, match="order no-such-order was not found"):
        await shop.views.order_detail(ADMIN, "no-such-order")


async def test_the_summary_counts_confirmed_orders_on_their_day_less_refunds(shop):
    await a_day_of_trade(shop)
    assert await shop.views.sales_summary() == {
        "totals": [{"currency": "EUR", "orders": 1, "revenue": 1000},
                   {"currency": "USD", "orders": 2, "revenue": 2 * 1299 + 1800 + 1299}],
        # bob's order confirmed on the 1st and refunded on the 3rd: off the 1st, and
        # nothing on the 3rd; the declined and the pending orders never counted
        "by_day": [
            {"day": "2026-03-02", "currency": "EUR", "orders": 1, "revenue": 1000},
            {"day": "2026-03-02", "currency": "USD", "orders": 1, "revenue": 1299},
            {"day": "2026-03-01", "currency": "USD", "orders": 1,
             "revenue": 2 * 1299 + 1800},
        ],
        "by_product": [
            {"product_id": "p1", "name": "Mug", "currency": "USD", "orders": 2, "units": 3,
             "revenue": 3 * 1299},
            {"product_id": "p2", "name": "Hat", "currency": "USD", "orders": 1, "units": 1,
             "revenue": 1800},
            {"product_id": "eur", "name": "Euro mug", "currency": "EUR", "orders": 1,
             "units": 1, "revenue": 1000},
        ],
    }


async def test_a_refund_that_empties_a_day_and_a_product_removes_their_rows(shop):
    order_id = await shop.order(BOB, ("p2", 3))
    await shop.projector.catch_up()
    assert (await shop.views.sales_summary())["by_product"] == [
        {"product_id": "p2", "name": "Hat", "currency": "USD", "orders": 1, "units": 3,
         "revenue": 5400}]
    await shop.cancel(BOB, order_id)
    await shop.projector.catch_up()
    assert await shop.views.sales_summary() == {"totals": [], "by_day": [], "by_product": []}


async def test_the_projector_applies_each_event_once_and_records_its_position(shop):
    await a_day_of_trade(shop)
    before = await read_model_rows(shop)
    last = await shop.store.events.last_seq()
    assert await shop.projector.positions() == {
        "order_list": last, "order_detail": last, "sales": last}
    assert await shop.projector.catch_up() == 0  # nothing new: nothing read
    assert await shop.projector.run_batch() == 0
    assert await read_model_rows(shop) == before


class Failing:
    """A projection that fails on the n-th event it is given."""

    def __init__(self, inner, n: int) -> None:
        self.inner, self.n, self.seen = inner, n, 0
        self.name, self.tables = inner.name, inner.tables

    async def apply(self, tx, record) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise RuntimeError(f"cannot apply {record.type}")
        await self.inner.apply(tx, record)


async def test_a_failed_batch_keeps_neither_its_rows_nor_its_position(shop):
    ids = [await shop.order(ALICE, ("p1", 1)) for _ in range(3)]  # five events each
    shop.projector.projections[2] = Failing(shop.projector.projections[2], n=4)
    with pytest.raises(RuntimeError, match="cannot apply"):
        await shop.projector.catch_up()
    # batches of two: the first committed, the second (events 3 and 4) rolled back whole
    assert await shop.projector.positions() == {
        "order_list": 2, "order_detail": 2, "sales": 2}
    assert [o["id"] for o in await shop.views.list_orders("alice", 10)] == [ids[0]]
    assert await shop.projector.catch_up() == 13  # the failure was once: it goes on
    after_failure = await read_model_rows(shop)
    await shop.projector.rebuild()
    assert await read_model_rows(shop) == after_failure


class Counting:
    """A new read model, added after the others have caught up."""

    name, tables = "placements", ()

    def __init__(self) -> None:
        self.placed: list[str] = []

    async def apply(self, tx, record) -> None:
        if isinstance(record.event, OrderPlaced):
            self.placed.append(record.order_id)


async def test_a_projection_added_later_catches_up_from_the_start_alone(shop):
    ids = await a_day_of_trade(shop)
    before = await read_model_rows(shop)
    late = Counting()
    shop.projector.projections.append(late)
    await shop.projector.catch_up()
    assert late.placed == list(ids.values())
    after = await read_model_rows(shop)
    last = await shop.store.events.last_seq()
    assert after.pop("projection_positions") == sorted(
        [*before.pop("projection_positions"), {"projection": "placements", "position": last}],
        key=lambda r: sorted((k, str(v)) for k, v in r.items()))
    assert after == before  # the other read models were not touched


async def test_a_rebuild_gives_exactly_the_same_rows_and_reports_them(shop):
    await a_day_of_trade(shop)
    built_as_they_came = await read_model_rows(shop)
    report = await shop.projector.rebuild()
    assert await read_model_rows(shop) == built_as_they_came
    last = await shop.store.events.last_seq()
    assert report == {"events": last, "position": last, "rows": {
        table: len(built_as_they_came[table])
        for table in ("order_list_view", "order_detail_view", "sales_orders",
                      "sales_by_day", "sales_by_product")}}
    assert report["rows"]["order_list_view"] == 6


async def test_a_rebuild_replaces_rows_that_went_wrong(shop):
    await a_day_of_trade(shop)
    good = await read_model_rows(shop)
    async with shop.store.db.transaction() as tx:
        await tx.execute("UPDATE order_list_view SET status = 'lost'")
        await tx.execute("DELETE FROM sales_by_day")
        await tx.execute("INSERT INTO sales_by_product VALUES ('x', 'USD', 'X', 1, 1, 1)")
    await shop.projector.rebuild()
    assert await read_model_rows(shop) == good


async def test_a_rebuild_of_an_empty_store_leaves_empty_read_models(shop):
    assert await shop.projector.rebuild() == {"events": 0, "position": 0, "rows": {
        "order_list_view": 0, "order_detail_view": 0, "sales_orders": 0,
        "sales_by_day": 0, "sales_by_product": 0}}
    assert await shop.projector.positions() == {
        "order_list": 0, "order_detail": 0, "sales": 0}


async def test_a_fresh_order_the_projector_has_not_reached_is_read_from_its_events(shop):
    shop.hold()
    order_id = await shop.order(ALICE, ("p1", 2), settle=False)
    assert await shop.views.list_orders("alice", 10) == []  # not listed yet: allowed
    detail = await shop.views.order_detail(ALICE, order_id)
    assert detail == (await shop.store.get_order(order_id)).as_dict()
    assert (detail["id"], detail["status"], detail["total"]) == (order_id, "pending", 2598)
    assert (await shop.views.order_detail(ADMIN, order_id))["id"] == order_id
    with pytest.raises(NotFound):  # the fallback checks the owner too
        await shop.views.order_detail(BOB, order_id)


async def test_every_commit_that_appends_events_wakes_the_projector(shop):
    assert not shop.projector.wakeup.is_set()
    shop.hold()
    order_id = await shop.order(ALICE, ("p1", 1), settle=False)
    assert shop.projector.wakeup.is_set()
    shop.projector.wakeup.clear()
    await shop.orders.store.request_cancel(order_id)  # no event: no wake-up
    assert not shop.projector.wakeup.is_set()


async def test_the_running_projector_keeps_the_read_models_current(shop):
    shop.projector.start()  # polls once a minute: only the wake-ups can make this pass
    await asyncio.sleep(0.05)
    order_id = await shop.order(ALICE, ("p1", 1), settle=False)
    await shop.settle(order_id)

    async def listed() -> list[dict]:
        for _ in range(200):
            found = await shop.views.list_orders("alice", 10)
            if found and found[0]["status"] == "confirmed":
                return found
            await asyncio.sleep(0.01)
        return found

    assert [(o["id"], o["status"]) for o in await listed()] == [(order_id, "confirmed")]


async def test_a_burst_of_commits_is_projected_in_one_transaction_a_lone_one_at_once(shop):
    linger = 1.0  # long against the burst below (~0.1 s), and against a scheduling stall
    shop.projector.worker.linger, shop.projector.batch = linger, 500
    batches = []
    run_batch = shop.projector.run_batch

    async def counted() -> int:
        batches.append(await run_batch())
        return batches[-1]

    async def until_batches(n: int, within: float) -> None:
        for _ in range(int(within / 0.01)):
            if len(batches) >= n:
                return
            await asyncio.sleep(0.01)

    shop.projector.run_batch = counted
    shop.projector.start()
    await asyncio.sleep(0.05)  # its start-up catch-up: nothing to do
    assert batches == []
    shop.hold()
    for _ in range(5):  # five commits, each appending an OrderPlaced and waking it
        await shop.order(ALICE, ("p1", 1), settle=False)
        await asyncio.sleep(0.01)  # its chance to run between them
    await until_batches(1, 5.0)
    assert batches == [5]  # one transaction for the five, not five
    assert len(await shop.views.list_orders("alice", 10)) == 5
    await asyncio.sleep(linger + 0.1)  # a quiet spell longer than the linger
    await shop.order(ALICE, ("p1", 1), settle=False)
    await until_batches(2, linger * 0.8)  # a lone commit is not held for the linger
    assert batches == [5, 1]


async def test_catching_up_at_start_up_includes_every_past_event(shop):
    ids = await a_day_of_trade(shop)
    fresh = Projector(shop.store.db, shop.store.events, shop.projector.projections)
    async with shop.store.db.transaction() as tx:
        await tx.execute("DELETE FROM projection_positions")
        for table in ("order_list_view", "order_detail_view", "sales_orders",
                      "sales_by_day", "sales_by_product"):
            await tx.execute(f"DELETE FROM {table}")
    assert await fresh.catch_up() == await shop.store.events.last_seq()
    assert len(await shop.views.list_orders("alice", 10)) == 4
    assert (await shop.views.order_detail(BOB, ids["euro"]))["status"] == "confirmed"



async def test_a_projector_with_nothing_to_do_opens_no_write_transaction(shop):
    await shop.order(ALICE, ("p1", 1))
    await shop.projector.catch_up()
    db, opened = shop.store.db, []
    real = db.transaction

    def counted():
        opened.append(1)
        return real()

    db.transaction = counted
    try:
        assert await shop.projector.catch_up() == 0
        assert opened == []
        await shop.order(ALICE, ("p1", 1))
        opened.clear()
        assert await shop.projector.catch_up() == 5  # placed, 3 milestones, confirmed
        assert opened  # there was something to do
    finally:
        db.transaction = real

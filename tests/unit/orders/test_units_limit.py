"""The units of one product one customer may hold in a day, through the real handler,
store and saga runner on a migrated SQLite file: orders past the limit are refused with
nothing written, pending orders count and cancelled ones do not, other customers and
products are not held back, and two orders of one customer placed at once (one process,
or two replicas on one file) never both pass when together they exceed the limit."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import timedelta

import pytest

from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.messaging import Outbox
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.limits import UnitsLimit, UnitsLimitExceeded
from mercato.services.orders.errors import ERRORS
from mercato.services.orders.handlers import Orders
from tests.unit.orders.conftest import ALICE, BOB, PRODUCTS, body
from tests.unit.orders.fakes import FakeCart, FakeCatalog, FakeParticipants


@pytest.fixture
def shop(sql_shop):
    """The shop on a migrated database: two replicas share its file, and what
    was written is counted in its tables."""
    return sql_shop

LIMIT = 5
TABLES = ("sagas", "order_events", "outbox", "idempotency_keys", "order_units")


@pytest.fixture
def limited(shop):
    shop.orders.units_limit = UnitsLimit(LIMIT)
    return shop


async def written(shop) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        row = await shop.store.db.fetch_one(f"SELECT count(*) AS n FROM {table}")
        counts[table] = row["n"]
    return counts


async def test_past_the_limit_an_order_is_refused_and_nothing_is_written(limited):
    await limited.order(ALICE, ("p1", 3))
    before = await written(limited)
    with pytest.raises(UnitsLimitExceeded) as refused:
        await limited.orders.place_order(ALICE, body(("p2", 1), ("p1", 3)), "key-2")
    assert (refused.value.product_id, refused.value.held, refused.value.available) == (
        "p1", 3, 2)
    assert await written(limited) == before  # no saga, event, outbox row, key or units
    # The key was not kept: the same key with what fits is a new order, not a replay.
    taken = await limited.orders.place_order(ALICE, body(("p2", 1), ("p1", 2)), "key-2")
    assert taken.status.value == "pending"


async def test_a_replay_of_an_accepted_order_is_answered_not_counted_against_itself(limited):
    first = await limited.orders.place_order(ALICE, body(("p1", LIMIT)), "key-1")
    again = await limited.orders.place_order(ALICE, body(("p1", LIMIT)), "key-1")
    assert again.id == first.id


async def test_pending_orders_count_and_cancelled_ones_do_not(limited):
    release = limited.hold()  # the checkouts stay pending
    pending = await limited.order(ALICE, ("p1", 3), settle=False)
    with pytest.raises(UnitsLimitExceeded):
        await limited.orders.place_order(ALICE, body(("p1", 3)), None)
    await limited.orders.cancel_order(ALICE, pending)
    release.set()
    await limited.settle(pending)
    assert (await limited.store.get_order(pending)).status.value == "cancelled"
    limited.fake.answer("authorize_payment", Result("rejected", "402: declined"))
    declined = await limited.order(ALICE, ("p1", 3))  # 3 more: the cancelled 3 are free
    assert (await limited.store.get_order(declined)).reason == "payment_declined"
    confirmed = await limited.order(ALICE, ("p1", LIMIT))  # the declined one is free too
    assert (await limited.store.get_order(confirmed)).status.value == "confirmed"
    with pytest.raises(UnitsLimitExceeded):  # confirmed orders count
        await limited.orders.place_order(ALICE, body(("p1", 1)), None)


async def test_another_customer_and_another_product_are_not_held_back(limited):
    await limited.order(ALICE, ("p1", LIMIT))
    with pytest.raises(UnitsLimitExceeded):
        await limited.orders.place_order(ALICE, body(("p1", 1)), None)
    assert (await limited.orders.place_order(BOB, body(("p1", LIMIT)), None)).total
    assert (await limited.orders.place_order(ALICE, body(("p2", LIMIT)), None)).total


async def test_orders_leave_the_count_a_day_after_they_were_placed(limited):
    await limited.order(ALICE, ("p1", 2))
    limited.clock.advance(3600)
    await limited.order(ALICE, ("p1", 3))
    limited.clock.advance(22 * 3600)
    with pytest.raises(UnitsLimitExceeded) as refused:
        await limited.orders.place_order(ALICE, body(("p1", 2)), None)
    # the 2 placed 23 h ago leave the window in one hour; then 2 fit
    assert refused.value.frees_at == limited.clock() + timedelta(hours=1)
    limited.clock.advance(3600)
    await limited.order(ALICE, ("p1", 2))


async def test_the_client_is_told_409_units_limit_with_what_fits_and_when_more_frees_up(
        limited):
    await limited.order(ALICE, ("p1", 4))
    with pytest.raises(UnitsLimitExceeded) as refused:
        await limited.orders.place_order(ALICE, body(("p1", 3)), None)
    problem = ERRORS.answer(refused.value)
    assert (problem.status, problem.kind) == (409, "units-limit")
    assert problem.retry_after is None  # no Retry-After: retrying soon cannot help
    assert problem.facts == {"product_id": "p1", "limit": LIMIT, "held": 4, "requested": 3,
                             "available": 1, "frees_at": "2026-03-02T09:00:00Z"}
    assert "at most 5 units of product p1" in problem.detail


async def test_with_no_limit_the_units_are_still_recorded_for_when_one_is_set(shop):
    await shop.order(ALICE, ("p1", 2), ("p1", 3), ("p2", 1))
    rows = await shop.store.db.fetch_all(
        "SELECT product_id, units FROM order_units ORDER BY product_id")
    assert [(r["product_id"], r["units"]) for r in rows] == [("p1", 5), ("p2", 1)]


class GatedCatalog(FakeCatalog):
    """Prices only once both orders are being priced: each has passed admission and
    pricing before either opens its placing transaction."""

    def __init__(self, barrier: asyncio.Barrier) -> None:
        super().__init__(PRODUCTS)
        self.barrier = barrier

    async def lookup(self, product_ids: list[str]) -> dict[str, dict]:
        await self.barrier.wait()
        return await super().lookup(product_ids)


class Meeting:
    """Where the two placements wait for each other after counting, for at most
    ``patience`` seconds: if both can count before either writes, both have counted the
    same (nothing held) by the time they write; if the count is serialised with the write,
    the second cannot count while the first waits, and the first goes on alone."""

    def __init__(self, patience: float = 0.5) -> None:
        self.counted = 0
        self.both = asyncio.Event()
        self.patience = patience

    async def after_count(self) -> None:
        self.counted += 1
        if self.counted == 2:
            self.both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.both.wait(), self.patience)


class MeetingStore(SqlOrderRepository):
    def __init__(self, db, meeting: Meeting) -> None:
        super().__init__(db)
        self.meeting = meeting

    async def units_held(self, *args, **kwargs):
        held = await super().units_held(*args, **kwargs)
        await self.meeting.after_count()
        return held


@pytest.mark.parametrize("replicas", [1, 2], ids=["one-process", "two-replicas-one-file"])
async def test_two_orders_placed_at_once_never_both_pass_together_past_the_limit(
        shop, replicas):
    """Each order alone fits (3 of 5); together they do not. Counted outside the placing
    transaction (or in one that does not hold the write lock), both would count 0 held
    and both be taken."""
    barrier, meeting = asyncio.Barrier(2), Meeting()
    dbs = [shop.store.db] + [SqliteDatabase(shop.store.db.path)
                             for _ in range(replicas - 1)]
    handlers, runners = [], []
    ids = (f"order-{n}" for n in itertools.count(1))
    for n in range(2):
        store = MeetingStore(dbs[n % replicas], meeting)
        outbox = Outbox(store.db, "orders", clock=shop.clock)
        runner = SagaRunner(store, FakeParticipants(), outbox, shop.clock, backoff=0.0,
                            jitter=lambda cap: 0.0)
        runners.append(runner)
        handlers.append(Orders(store, runner, GatedCatalog(barrier), FakeCart(), shop.clock,
                               lambda: next(ids), outbox, units_limit=UnitsLimit(LIMIT)))
    try:
        answers = await asyncio.gather(
            *(h.place_order(ALICE, body(("p1", 3)), f"key-{n}")
              for n, h in enumerate(handlers)), return_exceptions=True)
        refused = [a for a in answers if isinstance(a, UnitsLimitExceeded)]
        taken = [a for a in answers if not isinstance(a, BaseException)]
        assert (len(taken), len(refused)) == (1, 1), answers
        assert refused[0].held == 3
        rows = await shop.store.db.fetch_all("SELECT order_id, units FROM order_units")
        assert [(r["order_id"], r["units"]) for r in rows] == [(taken[0].id, 3)]
    finally:
        for runner in runners:
            await runner.stop()
        for db in dbs[1:]:
            await db.close()

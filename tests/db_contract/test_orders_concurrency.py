"""Orders under two concurrent writers, on both backends (docs/production.md §1).

Each test opens two handles on one migrated orders database, as two replicas of the
service would: on SQLite two connections to one file (``BEGIN IMMEDIATE`` lets one writer
in at a time), on PostgreSQL two pools (READ COMMITTED: what keeps them apart is the
store's unique keys and the named locks its handlers take, ``tx.lock``).

Where a read decides a write, the tests widen the window between the read and the write
(a sleep after the read, inside the transaction), so that without the lock both writers
would read before either writes.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import pytest

from mercato.chassis import Principal
from mercato.chassis.data import Database
from mercato.chassis.messaging import Outbox
from mercato.services.orders.adapters.eventstore import ConcurrencyError, SqlEventStore
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.domain.limits import UnitsLimit, UnitsLimitExceeded
from mercato.services.orders.domain.order import Line, Order
from mercato.services.orders.domain.refusals import IdempotencyKeyReused
from mercato.services.orders.handlers import Orders
from tests.db_contract import kit
from tests.support.clock import ManualClock
from tests.unit.orders.fakes import FakeCart, FakeCatalog, FakeParticipants

SERVICE = "orders"  # the database conftest ``service_db_url`` names

ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}
PRODUCTS = {"p1": {"id": "p1", "name": "Mug", "price": 1299, "currency": "USD"}}
ALICE = Principal("alice", frozenset({"customer"}))
WINDOW = 0.05  # seconds between a read and the write it decides


@pytest.fixture
async def handles(service_db_url, tmp_path):
    """``await open_()``: a new handle on one migrated orders database of the backend."""
    async with kit.handles(SERVICE, service_db_url, tmp_path, count=0) as opened:
        yield opened.open


def placed(order_id: str, quantity: int = 1) -> list:
    return Order.place(order_id, "alice", [Line("p1", quantity, 1299, "Mug")], "USD",
                       ADDRESS, "2026-03-01T09:00:00.000000+00:00")


async def test_the_same_order_at_the_same_version_twice_at_once_one_wins(handles):
    one, two = SqlEventStore(await handles()), SqlEventStore(await handles())
    async with one.db.transaction() as tx:
        await one.append(tx, placed("o-1"), expected_version=0)
    order = Order.fold(await one.load("o-1"))

    async def confirm(store: SqlEventStore) -> str:
        changes = Order.fold(await store.load("o-1")).confirm("2026-03-01T09:00:01+00:00")
        try:
            async with store.db.transaction() as tx:
                await store.append(tx, changes, expected_version=order.version)
                await asyncio.sleep(WINDOW)  # both have appended before either commits
        except ConcurrencyError:
            return "conflict"
        return "won"

    outcomes = await asyncio.gather(confirm(one), confirm(two))
    assert sorted(outcomes) == ["conflict", "won"]
    events = await one.load("o-1")
    assert [(e.version, e.type) for e in events] == [(1, "OrderPlaced"), (2, "OrderConfirmed")]


async def test_appends_to_different_orders_keep_seq_gap_free_and_in_commit_order(handles):
    """Twenty orders appended at once through two handles, each transaction lingering
    after its append; a reader polling ``seq > position`` meanwhile (as the projector
    does) must see every seq exactly once, none after a higher one."""
    stores = [SqlEventStore(await handles()), SqlEventStore(await handles())]
    reader = SqlEventStore(await handles())
    count, done = 20, asyncio.Event()
    committed: list[str] = []

    async def write(n: int) -> None:
        store = stores[n % 2]
        async with store.db.transaction() as tx:
            await store.append(tx, placed(f"o-{n:02d}"), expected_version=0)
            tx.on_commit(lambda: committed.append(f"o-{n:02d}"))
            await asyncio.sleep(0.005 * (n % 3))

    seen: list[tuple[int, str]] = []

    async def read() -> None:
        position = 0
        while True:
            finished = done.is_set()
            async with reader.db.transaction() as tx:
                batch = await reader.read_all(tx, after=position, limit=100)
            seen.extend((seq, r.order_id) for seq, r in batch)
            position = batch[-1][0] if batch else position
            if finished:
                return
            await asyncio.sleep(0.001)

    polling = asyncio.create_task(read())
    await asyncio.gather(*(write(n) for n in range(count)))
    done.set()
    await polling
    assert [seq for seq, _ in seen] == list(range(1, count + 1))  # none skipped or doubled
    assert sorted(order for _, order in seen) == sorted(committed)
    assert await reader.last_seq() == count


def shop(db: Database, limit: int = 0, *, window: dict | None = None) -> Orders:
    """The orders handlers on ``db`` with fake participants; ``window`` names store methods
    (``units_held``, ``find_key``) after whose read the handler waits ``WINDOW``."""
    store = SqlOrderRepository(db)
    for name in window or {}:
        setattr(store, name, _lingering(getattr(store, name)))
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    outbox = Outbox(db, "orders", clock=clock)
    runner = SagaRunner(store, FakeParticipants(), outbox, clock, max_attempts=3,
                        backoff=0.0, jitter=lambda cap: 0.0)
    ids = (f"{id(db)}-{n}" for n in itertools.count(1))
    return Orders(store, runner, FakeCatalog(PRODUCTS), FakeCart(), clock, lambda: next(ids),
                  outbox, units_limit=UnitsLimit(limit))


def _lingering(read):
    async def lingering(*args, **kwargs):
        found = await read(*args, **kwargs)
        await asyncio.sleep(WINDOW)
        return found
    return lingering


def body(quantity: int) -> dict:
    return {"items": [{"product_id": "p1", "quantity": quantity}],
            "shipping_address": ADDRESS, "payment": {"card_token": "tok_ok"}}


async def settled(*shops: Orders) -> None:
    for s in shops:
        await asyncio.gather(*list(s.runner.tasks.values()), return_exceptions=True)
        await s.runner.stop()


async def test_two_placements_at_once_never_take_a_customer_past_the_units_limit(handles):
    one = shop(await handles(), limit=3, window={"units_held": True})
    two = shop(await handles(), limit=3, window={"units_held": True})

    async def place(orders: Orders) -> str:
        try:
            await orders.place_order(ALICE, body(2), None)
        except UnitsLimitExceeded:
            return "refused"
        return "placed"

    outcomes = await asyncio.gather(place(one), place(two))
    await settled(one, two)
    assert sorted(outcomes) == ["placed", "refused"]
    row = await one.store.db.fetch_one(
        "SELECT CAST(SUM(units) AS BIGINT) AS units FROM order_units WHERE customer_id = ?",
        "alice")
    assert row["units"] == 2


async def test_the_same_idempotency_key_twice_at_once_gives_one_order(handles):
    one = shop(await handles(), window={"find_key": True})
    two = shop(await handles(), window={"find_key": True})
    results = await asyncio.gather(one.place_order(ALICE, body(1), "key-1"),
                                   two.place_order(ALICE, body(1), "key-1"))
    await settled(one, two)
    assert results[0].id == results[1].id
    orders = await one.store.db.fetch_all("SELECT DISTINCT order_id FROM order_events")
    assert [r["order_id"] for r in orders] == [results[0].id]
    keys = await one.store.db.fetch_all("SELECT order_id FROM idempotency_keys")
    assert keys == [{"order_id": results[0].id}]


async def test_the_same_key_with_another_body_at_once_is_refused_not_a_500(handles):
    one = shop(await handles(), window={"find_key": True})
    two = shop(await handles(), window={"find_key": True})
    results = await asyncio.gather(one.place_order(ALICE, body(1), "key-2"),
                                   two.place_order(ALICE, body(2), "key-2"),
                                   return_exceptions=True)
    await settled(one, two)
    refused = [r for r in results if isinstance(r, IdempotencyKeyReused)]
    assert len(refused) == 1, results  # errors.py: 422 idempotency-key-reused
    assert len([r for r in results if isinstance(r, Order)]) == 1

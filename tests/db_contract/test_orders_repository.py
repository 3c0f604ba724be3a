"""Orders' repository port (services/orders/ports.py), held to one behaviour on every
implementation: the SQL adapter on SQLite and on PostgreSQL, and the in-memory fake the
handlers' unit tests run on (tests/support/memory/orders.py). Two writers racing on two
handles are test_orders_concurrency.py's."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

import pytest

from mercato.chassis.data import Conflict
from mercato.chassis.messaging import Outbox
from mercato.chassis.telemetry import attach_context, detach, parse_traceparent
from mercato.services.orders.adapters.events import event_id, publish
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.domain.events import Line
from mercato.services.orders.domain.order import Order, Reason, Status
from mercato.services.orders.domain.saga import CheckoutSaga, Phase
from mercato.services.orders.ports import ConcurrencyError, OrderRepository, SagaConflict
from tests.support.memory.orders import MemoryOrderRepository
from tests.support.memory.outbox import MemoryOutbox
from tests.support.outbox import outbox_envelopes

SERVICE = "orders"  # the database the SQL adapter runs on (conftest ``contract_db``)

AT = "2026-12-06T08:00:00+00:00"
NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def world(where, contract_db):
    """The repository and the outbox its handlers publish through, on one database."""
    if where == "memory":
        outbox = MemoryOutbox(contract_db, "orders")
        return MemoryOrderRepository(contract_db, outbox), outbox
    return SqlOrderRepository(contract_db), Outbox(contract_db, "orders")


@pytest.fixture
def repo(world):
    return world[0]


def lines(*items: tuple[str, int]) -> list[Line]:
    return [Line(p, q, 100, p) for p, q in items]


async def place(repo, order_id: str, customer: str = "alice", *items: tuple[str, int],
                phase: Phase = Phase.FORWARD, mode: str = "orchestration",
                at: datetime = NOON) -> Order:
    """An order as the handler places it: its units, its saga, then its events."""
    placed = Order.place(order_id, customer, lines(*items or [("p1", 1)]), "USD", ADDRESS, AT)
    async with repo.db.transaction() as tx:
        await repo.hold_units(tx, order_id, customer, lines(*items or [("p1", 1)]), at)
        await repo.insert_saga(tx, CheckoutSaga(order_id, "tok", phase=phase), AT, mode=mode,
                               customer_id=customer)
        await repo.append(tx, placed, expected_version=0)
    return Order.fold(placed)


def test_both_implement_every_method_of_the_port_with_its_signature_and_no_more():
    wanted = {n: inspect.signature(f) for n, f in vars(OrderRepository).items()
              if inspect.iscoroutinefunction(f)}
    for cls in (SqlOrderRepository, MemoryOrderRepository):
        public = {n: inspect.signature(f) for n, f in vars(cls).items()
                  if inspect.iscoroutinefunction(f) and not n.startswith("_")}
        assert len(wanted) == 15 and public == wanted, cls.__name__


async def test_an_orders_events_fold_back_and_a_taken_version_is_refused(repo):
    assert await repo.get_order("o-1") is None
    order = await place(repo, "o-1", "alice", ("p1", 2), ("p2", 1))
    async with repo.db.transaction() as tx:
        await repo.append(tx, order.confirm("t1"), expected_version=1)
    with pytest.raises(ConcurrencyError):
        async with repo.db.transaction() as tx:  # decided on version 1 too: stale
            await repo.append(tx, order.cancel(Reason.CUSTOMER_REQUEST, "t2"), 1)
    with pytest.raises(ValueError, match="consecutive"):
        async with repo.db.transaction() as tx:
            await repo.append(tx, order.confirm("t3"), expected_version=5)
    stored = await repo.get_order("o-1")
    assert (stored.status, stored.version, stored.total) == (Status.CONFIRMED, 2, 300)
    assert [(c.status, c.at) for c in stored.history] == [(Status.PENDING, AT),
                                                          (Status.CONFIRMED, "t1")]
    assert stored.lines == order.lines and stored.shipping_address == ADDRESS


async def test_a_saga_is_saved_only_at_the_version_it_was_read_at(repo):
    await place(repo, "o-1")
    with pytest.raises(Conflict):
        async with repo.db.transaction() as tx:
            await repo.insert_saga(tx, CheckoutSaga("o-1", "other"), AT)
    saga = await repo.get_saga("o-1")
    assert (saga.version, saga.card_token, saga.mode) == (0, "tok", "orchestration")
    saga.begin(saga.step, AT)
    saga.card_token = ""
    async with repo.db.transaction() as tx:
        assert await repo.save_saga(tx, saga, AT) == 1
    with pytest.raises(SagaConflict):
        async with repo.db.transaction() as tx:  # still at version 0 in hand
            await repo.save_saga(tx, saga, "later")
    await repo.request_cancel("o-1")  # bumps the version: a runner's copy is stale now
    fresh = await repo.get_saga("o-1")
    assert (fresh.version, fresh.cancel_requested, fresh.card_token) == (2, True, "")
    assert fresh.records == saga.records
    fresh.phase, fresh.cancel_requested = Phase.COMPENSATING, False
    async with repo.db.transaction() as tx:
        assert await repo.save_saga(tx, fresh, AT) == 3
    again = await repo.get_saga("o-1", None)
    assert (again.phase, again.cancel_requested) == (Phase.COMPENSATING, True)  # kept
    async with repo.db.transaction() as tx:
        await repo.request_cancel("nobody", tx)
    assert await repo.get_saga("nobody") is None


async def test_sagas_with_work_left_are_found_with_the_trace_they_were_placed_in(repo):
    token = attach_context(parse_traceparent(TRACE))
    try:
        await place(repo, "o-1")
    finally:
        detach(token)
    await place(repo, "o-2", phase=Phase.COMPENSATING, mode="choreography")
    await place(repo, "o-3", phase=Phase.REFUNDING)
    await place(repo, "o-4", phase=Phase.CONFIRMED)
    await place(repo, "o-5", phase=Phase.CONFIRMED)
    await place(repo, "o-6", phase=Phase.CANCELLED)
    await repo.request_cancel("o-5")  # confirmed, its cancellation not yet acted on
    assert sorted(await repo.unfinished_sagas()) == ["o-1", "o-2", "o-3", "o-5"]
    assert sorted(await repo.unfinished_sagas("orchestration")) == ["o-1", "o-3", "o-5"]
    assert await repo.unfinished_sagas("choreography") == ["o-2"]
    assert await repo.saga_traceparents(["o-1", "o-2", "nobody"]) == {"o-1": TRACE}
    assert await repo.saga_traceparents([]) == {}


async def test_checkouts_in_progress_are_counted_up_to_each_limit(repo):
    for n, (customer, phase) in enumerate([("alice", Phase.FORWARD), ("alice", Phase.FORWARD),
                                           ("alice", Phase.COMPENSATING),
                                           ("bob", Phase.FORWARD), ("bob", Phase.REFUNDING),
                                           ("alice", Phase.CONFIRMED)]):
        await place(repo, f"o-{n}", customer, phase=phase)
    assert await repo.checkouts_in_progress(10, "alice", 10) == (4, 3)
    assert await repo.checkouts_in_progress(2, "alice", 1) == (2, 1)
    assert await repo.checkouts_in_progress(10, "bob", 10) == (4, 1)
    assert await repo.checkouts_in_progress(10, "carol", 10) == (4, 0)


async def test_units_held_are_a_customers_orders_since_then_and_not_cancelled(repo):
    await place(repo, "o-1", "alice", ("p1", 2), ("p2", 1), ("p1", 3), at=NOON)
    await place(repo, "o-2", "alice", ("p1", 1), at=NOON + timedelta(hours=1))
    await place(repo, "o-3", "alice", ("p1", 4), phase=Phase.CANCELLED, at=NOON)
    await place(repo, "o-4", "bob", ("p1", 7), at=NOON)
    await place(repo, "o-5", "alice", ("p1", 9), at=NOON - timedelta(hours=2))
    async with repo.db.transaction() as tx:
        held = await repo.units_held(tx, "alice", ["p1", "p2", "p3"], NOON - timedelta(hours=1))
        assert await repo.units_held(tx, "alice", ["p1"], NOON + timedelta(hours=1)) == []
        assert await repo.units_held(tx, "alice", [], NOON - timedelta(hours=1)) == []
    assert sorted((h.product_id, h.units, h.placed_at) for h in held) == [
        ("p1", 1, NOON + timedelta(hours=1)), ("p1", 5, NOON), ("p2", 1, NOON)]
    with pytest.raises(Conflict):
        async with repo.db.transaction() as tx:
            await repo.hold_units(tx, "o-1", "alice", lines(("p2", 1)), NOON)


async def test_an_idempotency_key_is_found_once_remembered_and_taken_once(repo):
    async with repo.db.transaction() as tx:
        assert await repo.find_key(tx, "alice", "k1") is None
        await repo.remember_key(tx, "alice", "k1", "hash-1", "o-1", AT)
        await repo.remember_key(tx, "bob", "k1", "hash-2", "o-2", AT)
    async with repo.db.transaction() as tx:
        found = await repo.find_key(tx, "alice", "k1")
        assert (found["request_hash"], found["order_id"]) == ("hash-1", "o-1")
        assert (await repo.find_key(tx, "bob", "k1"))["order_id"] == "o-2"
    with pytest.raises(Conflict):
        async with repo.db.transaction() as tx:
            await repo.remember_key(tx, "alice", "k1", "hash-3", "o-3", AT)
    async with repo.db.transaction() as tx:
        assert (await repo.find_key(tx, "alice", "k1"))["order_id"] == "o-1"


async def test_the_sealed_card_goes_from_its_orders_placed_event_only(world):
    repo, outbox = world
    for order_id in ("o-1", "o-2"):
        placed = Order.place(order_id, "alice", lines(("p1", 1)), "USD", ADDRESS, AT)
        async with repo.db.transaction() as tx:
            await publish(outbox, tx, Order.fold(placed), placed,
                          sealed_card_token=f"sealed-{order_id}", checkout="choreography")
    async with repo.db.transaction() as tx:
        await repo.forget_sealed_card(tx, "o-1")
        await repo.forget_sealed_card(tx, "o-1")  # twice: nothing more to do
        await repo.forget_sealed_card(tx, "never-placed")
    envelopes = (outbox.envelopes if isinstance(outbox, MemoryOutbox)
                 else await outbox_envelopes(repo.db))
    assert [(e.id, e.payload["sealed_card_token"]) for e in envelopes] == [
        (event_id("o-1", Status.PENDING), None),
        (event_id("o-2", Status.PENDING), "sealed-o-2")]


async def test_facts_list_every_order_by_id_with_its_sagas_phase(repo):
    for order_id in ("o-2", "o-1", "o-3"):
        await place(repo, order_id, phase=Phase.CONFIRMED if order_id == "o-3"
                    else Phase.FORWARD)
    confirmed = await repo.get_order("o-3")
    async with repo.db.transaction() as tx:
        await repo.append(tx, confirmed.confirm("t1"), expected_version=1)
    facts = await repo.facts()
    assert [(o["order_id"], o["status"], o["saga"], o["history"]) for o in facts["orders"]] == [
        ("o-1", "pending", "forward", ["pending"]), ("o-2", "pending", "forward", ["pending"]),
        ("o-3", "confirmed", "confirmed", ["pending", "confirmed"])]
    assert (facts["orders"][0]["total"], facts["orders"][0]["currency"]) == (100, "USD")
    assert facts["pending_orders"] == 2
    assert (facts["unfinished_sagas"], sorted(facts["unfinished_saga_ids"])) == (2, ["o-1",
                                                                                   "o-2"])


async def test_a_transaction_that_fails_leaves_nothing_behind(repo):
    await place(repo, "o-1")
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await place_in(repo, tx, "o-2")
            await repo.remember_key(tx, "alice", "k1", "hash", "o-2", AT)
            await repo.request_cancel("o-1", tx)
            assert (await repo.get_order("o-2", tx)).id == "o-2"  # seen inside
            raise RuntimeError("the handler refused after writing")
    assert await repo.get_order("o-2") is None and await repo.get_saga("o-2") is None
    assert (await repo.get_saga("o-1")).version == 0
    async with repo.db.transaction() as tx:
        assert await repo.find_key(tx, "alice", "k1") is None
        assert [h.units for h in await repo.units_held(tx, "alice", ["p1"], NOON - timedelta(
            days=1))] == [1]


async def place_in(repo, tx, order_id: str) -> None:
    placed = Order.place(order_id, "alice", lines(("p1", 1)), "USD", ADDRESS, AT)
    await repo.hold_units(tx, order_id, "alice", lines(("p1", 1)), NOON)
    await repo.insert_saga(tx, CheckoutSaga(order_id, "tok"), AT, customer_id="alice")
    await repo.append(tx, placed, expected_version=0)

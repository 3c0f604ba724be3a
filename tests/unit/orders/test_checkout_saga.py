"""The checkout saga driven through every failure point with fakes and the in-memory
repository and outbox."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from opentelemetry import trace

from mercato.chassis import Principal
from mercato.chassis.errors import NotFound
from mercato.services.orders.adapters.events import event_id
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.order import InvalidOrder, Status
from mercato.services.orders.domain.refusals import (
    AlreadyCancelled,
    IdempotencyKeyReused,
    UnknownProduct,
)
from mercato.services.orders.handlers import Orders
from tests.support.clock import StepClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.orders import MemoryOrderRepository
from tests.support.memory.outbox import MemoryOutbox
from tests.unit.orders.fakes import FakeCart, FakeCatalog, FakeParticipants, Timeline

ALICE = Principal("alice", frozenset({"customer"}))
BOB = Principal("bob", frozenset({"customer"}))
ADMIN = Principal("root", frozenset({"customer", "admin"}))
PRODUCTS = {
    "p1": {"id": "p1", "name": "Mug", "price": 1299, "currency": "USD"},
    "p2": {"id": "p2", "name": "Hat", "price": 1800, "currency": "USD"},
    "eur": {"id": "eur", "name": "Euro mug", "price": 1000, "currency": "EUR"},
}
ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}
DECLINED = Result("rejected", "402: declined")
DOWN = Result("transient", "503: provider unavailable")
SILENT = Result("unreachable", "payments is unavailable")
START = datetime(2026, 1, 1, tzinfo=UTC)


class Killed(BaseException):
    """Stands for the process dying mid-step: not an Exception, so nothing catches it."""


@pytest.fixture
async def world():
    db = MemoryDatabase()
    outbox = MemoryOutbox(db, "orders", clock=StepClock(START))
    store = MemoryOrderRepository(db, outbox)
    fake = FakeParticipants(Timeline(outbox))
    runner = SagaRunner(store, fake, outbox, StepClock(START), max_attempts=3, backoff=0.0,
                        jitter=lambda cap: 0.0)
    ids = (f"order-{n}" for n in itertools.count(1))
    orders = Orders(store, runner, FakeCatalog(PRODUCTS), FakeCart(), StepClock(START),
                    lambda: next(ids), outbox)
    yield orders, fake
    await runner.stop()


def body(items=None, card="tok_ok"):
    return {"items": items or [{"product_id": "p1", "quantity": 2}],
            "shipping_address": ADDRESS, "payment": {"card_token": card}}


async def events(orders: Orders) -> list[tuple[str, str, dict]]:
    """(type, id, payload) of every event orders has published so far."""
    return [(e.type, e.id, e.payload) for e in orders.outbox.envelopes]


def confirmed_payload(order_id: str, *, from_cart: bool = False) -> dict:
    return {"order_id": order_id, "customer_id": "alice", "total": 2 * 1299,
            "currency": "USD", "items": [{"product_id": "p1", "quantity": 2, "unit_price": 1299}],
            "from_cart": from_cart}


def placed_payload(order_id: str, *, from_cart: bool = False) -> dict:
    """Orchestrated: the address travels, the card token does not (it stays in the saga)."""
    return {**confirmed_payload(order_id, from_cart=from_cart), "shipping_address": ADDRESS,
            "sealed_card_token": None, "checkout": "orchestration"}


def cancelled_payload(order_id: str, reason: str, *, refunded: bool = False) -> dict:
    return {"order_id": order_id, "customer_id": "alice", "reason": reason, "total": 2 * 1299,
            "currency": "USD", "refunded": refunded}


async def settle(orders: Orders, order_id: str):
    task = orders.runner.tasks.get(order_id)
    if task:
        await task
    return await orders.store.get_order(order_id)


async def test_a_good_card_confirms_the_order_with_the_right_total(world):
    orders, fake = world
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed"
    assert done.total == 2 * 1299
    assert fake.calls[:5] == ["reserve_stock", "authorize_payment", "schedule_shipment",
                              "capture_payment", "confirm_order"]
    assert [c.status.value for c in done.history] == ["pending", "confirmed"]
    assert await fake.timeline.all() == [
        "OrderPlaced", "reserve_stock", "authorize_payment", "schedule_shipment",
        "capture_payment", "confirm_order", "OrderConfirmed"]
    assert await events(orders) == [
        ("OrderPlaced", event_id(order.id, Status.PENDING), placed_payload(order.id)),
        ("OrderConfirmed", event_id(order.id, Status.CONFIRMED), confirmed_payload(order.id))]
    placed, confirmed = orders.outbox.envelopes
    assert confirmed.subject == "mercato.orders.OrderConfirmed"
    assert (placed.causation_id, confirmed.causation_id) == (None, placed.id)


async def test_out_of_stock_cancels_without_touching_payment(world):
    orders, fake = world
    fake.answer("reserve_stock", Result("rejected", "409: out of stock"))
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert (done.status.value, done.reason) == ("cancelled", "out_of_stock")
    assert "authorize_payment" not in fake.calls
    assert "release_stock" not in fake.calls  # nothing was reserved
    assert await fake.timeline.all() == ["OrderPlaced", "reserve_stock", "OrderCancelled"]


async def test_a_declined_card_releases_the_reserved_stock(world):
    orders, fake = world
    fake.answer("authorize_payment", DECLINED)
    order = await orders.place_order(ALICE, body(card="tok_decline"), None)
    done = await settle(orders, order.id)
    assert (done.status.value, done.reason) == ("cancelled", "payment_declined")
    assert fake.calls.count("release_stock") == 1
    assert "void_payment" not in fake.calls  # a decline authorized nothing
    assert (await events(orders))[1:] == [
        ("OrderCancelled", event_id(order.id, Status.CANCELLED),
         cancelled_payload(order.id, "payment_declined"))]


async def test_a_failing_provider_is_retried_a_bounded_number_of_times(world):
    orders, fake = world
    fake.answer("authorize_payment", DOWN, DOWN, DOWN, DOWN)
    order = await orders.place_order(ALICE, body(card="tok_error"), None)
    done = await settle(orders, order.id)
    assert (done.status.value, done.reason) == ("cancelled", "payment_unavailable")
    assert fake.calls.count("authorize_payment") == 3
    # the outcome of the last attempt is unknown, so it is voided, then stock released,
    # and only then is the cancellation announced
    assert (await fake.timeline.all())[-3:] == ["void_payment", "release_stock",
                                                "OrderCancelled"]


async def test_a_participant_that_does_not_answer_is_waited_for(world):
    orders, fake = world
    fake.answer("authorize_payment", SILENT, SILENT, SILENT, SILENT, SILENT)
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed"
    assert fake.calls.count("authorize_payment") == 6


async def test_a_shipping_refusal_voids_the_payment_and_releases_stock(world):
    orders, fake = world
    fake.answer("schedule_shipment", Result("rejected", "409: not deliverable"))
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert (done.status.value, done.reason) == ("cancelled", "shipping_unavailable")
    assert (await fake.timeline.all())[-3:] == ["void_payment", "release_stock",
                                                "OrderCancelled"]


async def test_a_failed_compensation_is_retried_until_it_succeeds(world):
    orders, fake = world
    fake.answer("authorize_payment", DECLINED)
    fake.answer("release_stock", SILENT, DOWN)
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert done.status.value == "cancelled"
    assert fake.calls.count("release_stock") == 3
    assert (await fake.timeline.all())[-4:] == ["release_stock", "release_stock",
                                                "release_stock", "OrderCancelled"]


async def test_a_commit_failure_after_capture_never_cancels_the_order(world):
    orders, fake = world
    fake.answer("confirm_order", DOWN, DOWN, DOWN, DOWN, DOWN)
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed"
    assert "refund_payment" not in fake.calls
    assert [e[0] for e in await events(orders)] == ["OrderPlaced", "OrderConfirmed"]


async def test_a_reservation_that_expired_before_the_commit_refunds_and_cancels(world):
    orders, fake = world
    fake.answer("confirm_order",
                Result("rejected", "409: reservation expired", reason="expired"))
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert (done.status.value, done.reason) == ("cancelled", "expired")
    undo = [c for c in fake.calls if c in ("refund_payment", "cancel_shipment",
                                            "void_payment", "release_stock")]
    assert undo == ["refund_payment", "cancel_shipment", "void_payment", "release_stock"]
    assert [e[0] for e in await events(orders)] == ["OrderPlaced", "OrderCancelled"]


async def test_a_saga_resumes_from_its_saved_step_after_a_crash(world):
    orders, fake = world

    async def crash():
        raise Killed("process killed")

    fake.hooks["schedule_shipment"] = crash
    order = await orders.place_order(ALICE, body(), None)
    with pytest.raises(Killed):
        await orders.runner.tasks[order.id]
    fake.hooks.clear()
    assert await orders.store.unfinished_sagas() == [order.id]
    assert await orders.runner.resume_all() == 1
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed"
    assert fake.calls.count("reserve_stock") == 1
    assert fake.calls.count("schedule_shipment") == 2  # the interrupted step is repeated
    assert [e[0] for e in await events(orders)] == ["OrderPlaced", "OrderConfirmed"]


async def test_cancelling_a_pending_order_compensates_what_was_done(world):
    orders, fake = world

    async def customer_cancels():
        await orders.cancel_order(ALICE, order_id)

    fake.hooks["authorize_payment"] = customer_cancels
    order_id = "order-1"
    await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order_id)
    assert (done.status.value, done.reason) == ("cancelled", "customer_request")
    assert "schedule_shipment" not in fake.calls
    assert (await fake.timeline.all())[-3:] == ["void_payment", "release_stock",
                                                "OrderCancelled"]
    assert (await events(orders))[1:] == [
        ("OrderCancelled", event_id(order_id, Status.CANCELLED),
         cancelled_payload(order_id, "customer_request", refunded=False))]


async def test_cancelling_a_confirmed_order_refunds_it_and_returns_stock(world):
    orders, fake = world
    order = await orders.place_order(ALICE, body(), None)
    await settle(orders, order.id)
    await orders.cancel_order(ALICE, order.id)
    done = await settle(orders, order.id)
    assert (done.status.value, done.reason) == ("cancelled", "customer_request")
    assert [c.status.value for c in done.history] == ["pending", "confirmed", "cancelled"]
    assert (await fake.timeline.all())[-4:] == ["refund_payment", "cancel_shipment",
                                                "return_stock", "OrderCancelled"]
    assert (await events(orders))[1:] == [
        ("OrderConfirmed", event_id(order.id, Status.CONFIRMED), confirmed_payload(order.id)),
        ("OrderCancelled", event_id(order.id, Status.CANCELLED),
         cancelled_payload(order.id, "customer_request", refunded=True))]
    with pytest.raises(AlreadyCancelled, match=f"order {order.id} is already cancelled"):
        await orders.cancel_order(ALICE, order.id)


async def test_the_same_idempotency_key_gives_the_same_order(world):
    orders, _ = world
    first = await orders.place_order(ALICE, body(), "key-1")
    second = await orders.place_order(ALICE, body(), "key-1")
    assert first.id == second.id
    other_user = await orders.place_order(BOB, body(), "key-1")
    assert other_user.id != first.id
    placed = [(e[0], e[2]["order_id"]) for e in await events(orders) if e[0] == "OrderPlaced"]
    assert placed == [("OrderPlaced", first.id), ("OrderPlaced", other_user.id)]


async def test_the_same_idempotency_key_with_another_body_is_refused(world):
    orders, _ = world
    await orders.place_order(ALICE, body(), "key-1")
    with pytest.raises(IdempotencyKeyReused):
        await orders.place_order(ALICE, body([{"product_id": "p2", "quantity": 1}]), "key-1")


async def test_unknown_products_and_mixed_currencies_are_refused_before_anything_is_written(
    world,
):
    orders, _ = world
    with pytest.raises(UnknownProduct) as unknown:
        await orders.place_order(ALICE, body([{"product_id": "nope", "quantity": 1}]), None)
    assert unknown.value.field == "items[0].product_id"
    assert str(unknown.value) == "items[0].product_id: unknown product nope"
    with pytest.raises(InvalidOrder, match="products in several currencies"):
        await orders.place_order(
            ALICE, body([{"product_id": "p1", "quantity": 1},
                         {"product_id": "eur", "quantity": 1}]), None)
    assert await orders.store.get_order("order-1") is None
    assert (await orders.store.facts())["orders"] == []
    assert await events(orders) == []


async def test_another_customers_order_is_not_found_but_an_admin_sees_it(world):
    orders, _ = world
    order = await orders.place_order(ALICE, body(), None)
    with pytest.raises(NotFound, match=f"order {order.id} was not found"):
        await orders.get_order(BOB, order.id)
    assert (await orders.get_order(ADMIN, order.id)).id == order.id


async def test_an_order_from_the_cart_says_so_in_its_events(world):
    orders, _ = world
    orders.cart.carts["alice"] = [{"product_id": "p1", "quantity": 2}]
    order = await orders.place_order(
        ALICE, {"from_cart": True, "shipping_address": ADDRESS,
                "payment": {"card_token": "tok_ok"}}, None)
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed" and done.from_cart
    assert await events(orders) == [
        ("OrderPlaced", event_id(order.id, Status.PENDING),
         placed_payload(order.id, from_cart=True)),
        ("OrderConfirmed", event_id(order.id, Status.CONFIRMED),
         confirmed_payload(order.id, from_cart=True))]


async def test_a_crash_while_saving_the_outcome_keeps_neither_the_status_nor_its_event(world):
    orders, fake = world
    real_add = orders.outbox.add

    async def add_then_die(tx, event, **kwargs):
        await real_add(tx, event, **kwargs)
        if event.type_name() == "OrderConfirmed":
            raise Killed("process killed after writing the event, before the commit")

    orders.outbox.add = add_then_die
    order = await orders.place_order(ALICE, body(), None)
    with pytest.raises(Killed):
        await orders.runner.tasks[order.id]
    assert (await orders.store.get_order(order.id)).status.value == "pending"
    assert [e[0] for e in await events(orders)] == ["OrderPlaced"]
    orders.outbox.add = real_add
    assert await orders.runner.resume_all() == 1
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed"
    assert fake.calls.count("confirm_order") == 2  # the unsaved step is repeated
    assert [e[0] for e in await events(orders)] == ["OrderPlaced", "OrderConfirmed"]


async def test_a_finished_saga_is_not_resumed(world):
    orders, _ = world
    order = await orders.place_order(ALICE, body(), None)
    await settle(orders, order.id)
    assert await orders.store.unfinished_sagas() == []
    assert await orders.runner.resume_all() == 0


async def test_an_order_changed_by_another_writer_is_read_again_and_decided_again(world):
    """The runner is the only writer after placement, so this never happens in service;
    if it did (say, two runners of one saga), the check stops the stale write."""
    orders, fake = world

    async def someone_else_confirms():
        fake.hooks.clear()
        order = await orders.store.get_order("order-1")
        async with orders.store.db.transaction() as tx:
            await orders.store.append(tx, order.confirm("elsewhere"), order.version)

    fake.hooks["confirm_order"] = someone_else_confirms
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed"
    assert [c.at for c in done.history][1:] == ["elsewhere"]  # one confirmation, theirs
    # The stale save is lost; the answer is applied again to the fresh copy (as a late
    # reply would be): the step is not called again and the order is not confirmed twice.
    assert fake.calls.count("confirm_order") == 1
    assert (await orders.store.get_saga(order.id)).phase.value == "confirmed"
    assert [e[0] for e in await events(orders)] == ["OrderPlaced"]  # theirs published none


async def test_an_unexpected_error_is_retried_from_the_saved_state_not_left_pending(world):
    orders, fake = world
    failures = [RuntimeError("database is locked"), RuntimeError("database is locked")]

    async def flaky():
        if failures:
            raise failures.pop()

    fake.hooks["schedule_shipment"] = flaky
    order = await orders.place_order(ALICE, body(), None)
    done = await settle(orders, order.id)
    assert done.status.value == "confirmed"
    assert fake.calls.count("schedule_shipment") == 3
    assert fake.calls.count("reserve_stock") == 1  # resumed at the step, not from the start


async def test_a_saga_resumed_after_a_crash_goes_on_in_its_orders_trace(world, spans):
    orders, fake = world

    async def crash():
        raise Killed("process killed")

    fake.hooks["schedule_shipment"] = crash
    with trace.get_tracer("tests").start_as_current_span("POST /api/v1/orders") as request:
        order = await orders.place_order(ALICE, body(), None)
        with pytest.raises(Killed):
            await orders.runner.tasks[order.id]
    fake.hooks.clear()
    spans.clear()
    assert await orders.runner.resume_all() == 1  # outside any trace, as after a restart
    assert (await settle(orders, order.id)).status.value == "confirmed"
    steps = [s for s in spans.get_finished_spans() if s.name.startswith("saga.step")]
    assert [s.attributes["mercato.saga.step"] for s in steps] == [
        "schedule_shipment", "capture_payment", "confirm_order"]
    assert {s.context.trace_id for s in steps} == {request.get_span_context().trace_id}

"""Inventory's events: every stock movement is published in the transaction that makes it
(and nothing for a repeat, a refusal or a tombstone); a new product's ProductCreated gives
it a stock record of zeros, driven through the chassis consumer (real inbox)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mercato.chassis.errors import NotFound
from mercato.chassis.messaging import Consumers
from mercato.contracts.catalog import ProductCreated
from mercato.services.inventory.domain import OutOfStock, WouldGoNegative
from mercato.services.inventory.events import event_id
from mercato.services.inventory.subscriptions import subscriptions
from tests.support.messages import deliver, envelope, inbox, subscription
from tests.unit.inventory.conftest import (
    KNOWN,
    OTHER,
    UNKNOWN,
    answer,
    assert_stock_conserved,
    envelopes,
)

NEW = "44444444-4444-4444-8444-444444444444"
FIRST_ADJUSTMENT = "00000000-0000-4000-8000-000000000001"
CONSUMER = "inventory__product_created"


async def published(inventory) -> list[tuple[str, str, dict]]:
    return [(e.type, e.id, e.payload) for e in await envelopes(inventory)]


def created(product_id: str = NEW) -> ProductCreated:
    return ProductCreated(product_id=product_id, sku="SKU-1", name="Teapot", category="tea",
                          price=2500, currency="USD")


@pytest.fixture
def world(sql_inventory, db):
    """ProductCreated through the chassis consumer and its inbox: the real database."""
    sub = subscription(subscriptions(SimpleNamespace(
        state=SimpleNamespace(inventory=sql_inventory))), "product_created")
    return SimpleNamespace(sub=sub, consumers=Consumers("inventory", db, None, [sub]))


async def test_an_adjustment_publishes_the_new_levels_once(inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial count", actor="a", idempotency_key="k1")
    await inventory.adjust_stock(KNOWN, 10, "initial count", actor="a", idempotency_key="k1")
    assert await published(inventory) == [
        ("StockAdjusted", event_id(FIRST_ADJUSTMENT, "adjusted"),
         {"product_id": KNOWN, "delta": 10, "on_hand": 10, "available": 10,
          "reason": "initial count"})]


async def test_a_refused_adjustment_publishes_nothing(inventory):
    await inventory.adjust_stock(KNOWN, 2, "initial", actor="a")
    with pytest.raises(WouldGoNegative):
        await inventory.adjust_stock(KNOWN, -3, "too many", actor="a")
    assert [e[0] for e in await published(inventory)] == ["StockAdjusted"]


async def test_each_reservation_transition_publishes_one_event_named_by_the_transition(
        inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    await inventory.adjust_stock(OTHER, 5, "initial", actor="a")
    for _ in range(2):  # every call twice: a repeat moves nothing and says nothing
        await inventory.reserve("r1", "o1", [(KNOWN, 3), (OTHER, 1)])
    for _ in range(2):
        await inventory.commit("r1")
    for _ in range(2):
        await inventory.return_goods("r1")
    for _ in range(2):
        await inventory.reserve("r2", "o2", [(KNOWN, 2)])
    for _ in range(2):
        await inventory.release("r2")
    items = [{"product_id": KNOWN, "quantity": 3}, {"product_id": OTHER, "quantity": 1}]
    assert (await published(inventory))[2:] == [
        ("StockReserved", event_id("r1", "reserved"),
         {"reservation_id": "r1", "order_id": "o1", "items": items}),
        ("StockCommitted", event_id("r1", "committed"),
         {"reservation_id": "r1", "order_id": "o1", "items": items}),
        ("StockReturned", event_id("r1", "returned"),
         {"reservation_id": "r1", "order_id": "o1", "items": items}),
        ("StockReserved", event_id("r2", "reserved"),
         {"reservation_id": "r2", "order_id": "o2",
          "items": [{"product_id": KNOWN, "quantity": 2}]}),
        ("StockReleased", event_id("r2", "released"),
         {"reservation_id": "r2", "order_id": "o2",
          "items": [{"product_id": KNOWN, "quantity": 2}], "reason": "released"}),
    ]


async def test_a_refusal_says_so_once_and_tombstones_publish_nothing(inventory):
    await inventory.adjust_stock(KNOWN, 1, "initial", actor="a")
    for _ in range(2):  # the repeat is answered from the stored refusal: no second event
        with pytest.raises(OutOfStock):
            await inventory.reserve("r1", "o1", [(KNOWN, 5)])
    await inventory.release("r1")  # a refused reservation, released: nothing moves
    await inventory.release("never-seen")  # a tombstone
    events = await published(inventory)
    assert [e[0] for e in events] == ["StockAdjusted", "StockReservationFailed"]
    assert events[1][1] == event_id("r1", "rejected")
    assert events[1][2]["order_id"] == "o1" and events[1][2]["reason"] == "out_of_stock"
    assert "1 available" in events[1][2]["detail"]
    assert (await inventory.get_stock(KNOWN)).available == 1


async def test_a_transaction_that_fails_keeps_neither_the_movement_nor_its_event(
        inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    real_add = inventory.outbox.add

    async def add_then_fail(tx, event, **kwargs):
        await real_add(tx, event, **kwargs)
        raise RuntimeError("crash after writing the event, before the commit")

    inventory.outbox.add = add_then_fail
    with pytest.raises(RuntimeError):
        await inventory.reserve("r1", "o1", [(KNOWN, 3)])
    inventory.outbox.add = real_add
    stock = await inventory.get_stock(KNOWN)
    assert (stock.available, stock.reserved) == (10, 0)
    assert [e[0] for e in await published(inventory)] == ["StockAdjusted"]
    await inventory.reserve("r1", "o1", [(KNOWN, 3)])  # and the retry works as the first
    assert [e[0] for e in await published(inventory)] == ["StockAdjusted", "StockReserved"]
    await assert_stock_conserved(inventory)


async def test_inventory_consumes_product_creations_only(world):
    assert (world.sub.name, world.sub.source) == ("product_created", "catalog")
    assert [e.type_name() for e in world.sub.events] == ["ProductCreated"]


async def test_a_new_product_has_a_stock_record_of_zeros_with_its_inbox_row(
        world, sql_inventory, db):
    msg = await deliver(world.consumers, world.sub, envelope(created(), "e-1"))
    assert (msg.acks, msg.naks) == (1, [])
    assert (await sql_inventory.get_stock(NEW)).as_dict() == {
        "product_id": NEW, "on_hand": 0, "available": 0, "reserved": 0, "sold": 0}
    assert await inbox(db, CONSUMER) == ["e-1"]
    assert await published(sql_inventory) == []  # a record of zeros is no movement


async def test_the_first_adjustment_of_a_product_heard_of_needs_no_catalog(
        world, sql_inventory, catalog):
    await deliver(world.consumers, world.sub, envelope(created(), "e-1"))
    catalog.up = False
    stock = await sql_inventory.adjust_stock(NEW, 4, "initial", actor="a")
    assert (stock.on_hand, stock.available) == (4, 4)
    assert catalog.calls == []


async def test_a_product_never_heard_of_still_falls_back_to_the_catalog(inventory, catalog):
    with pytest.raises(NotFound) as caught:
        await inventory.adjust_stock(UNKNOWN, 4, "initial", actor="a")
    assert answer(caught.value).status == 404
    await inventory.adjust_stock(KNOWN, 4, "initial", actor="a")
    assert catalog.calls == [UNKNOWN, KNOWN]


async def test_a_late_creation_event_leaves_existing_stock_alone(world, sql_inventory):
    await sql_inventory.adjust_stock(KNOWN, 7, "initial", actor="a")  # known through the lookup
    await deliver(world.consumers, world.sub, envelope(created(KNOWN), "e-1"))
    assert (await sql_inventory.get_stock(KNOWN)).on_hand == 7


async def test_a_redelivered_creation_does_not_run_the_handler_again(world, sql_inventory, db):
    calls = []

    async def counting(tx, env, event):
        calls.append(env.id)
        await sql_inventory.on_product_created(tx, env, event)

    sub = type(world.sub)(world.sub.name, world.sub.events, counting)
    first = await deliver(world.consumers, sub, envelope(created(), "e-1"))
    await sql_inventory.adjust_stock(NEW, 3, "initial", actor="a")
    again = await deliver(world.consumers, sub, envelope(created(), "e-1"), attempt=2)
    assert (first.acks, again.acks, again.naks) == (1, 1, [])
    assert calls == ["e-1"]
    assert (await sql_inventory.get_stock(NEW)).on_hand == 3
    assert await inbox(db, CONSUMER) == ["e-1"]


async def test_a_failing_handler_leaves_no_record_and_no_inbox_row(world, sql_inventory, db):
    async def create_then_fail(tx, env, event):
        await sql_inventory.on_product_created(tx, env, event)
        raise RuntimeError("boom after creating")

    sub = type(world.sub)(world.sub.name, world.sub.events, create_then_fail)
    msg = await deliver(world.consumers, sub, envelope(created(), "e-1"))
    assert (msg.acks, msg.naks) == (0, [0.5])
    assert await sql_inventory.stock.get(NEW) is None
    assert await inbox(db, CONSUMER) == []

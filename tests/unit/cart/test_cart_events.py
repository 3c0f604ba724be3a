"""The cart's reaction to events, driven through the chassis consumer (real inbox) against
a real migrated database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mercato.chassis.messaging import Consumers
from mercato.contracts.orders import OrderConfirmed, OrderLine
from mercato.services.cart.subscriptions import subscriptions
from tests.support.messages import deliver, envelope, inbox
from tests.unit.cart.conftest import MUG, TEA

CONSUMER = "cart__order_confirmed"


def confirmed(customer_id: str = "u1", from_cart: bool = True) -> OrderConfirmed:
    return OrderConfirmed(order_id="o-1", customer_id=customer_id, total=2500, currency="USD",
                          items=[OrderLine(product_id=MUG, quantity=2, unit_price=1250)],
                          from_cart=from_cart)


@pytest.fixture
def world(sql_carts):
    [sub] = subscriptions(SimpleNamespace(state=SimpleNamespace(carts=sql_carts)))
    return SimpleNamespace(sub=sub, consumers=Consumers("cart", sql_carts.db, None, [sub]),
                           carts=sql_carts, db=sql_carts.db)


async def items(carts, user_id: str) -> list[tuple[str, int]]:
    return [(i["product_id"], i["quantity"]) for i in (await carts.view(user_id))["items"]]


async def test_the_cart_consumes_order_confirmations_only(world):
    assert (world.sub.name, world.sub.source) == ("order_confirmed", "orders")
    assert [e.type_name() for e in world.sub.events] == ["OrderConfirmed"]


async def test_a_confirmed_order_from_the_cart_empties_that_customers_cart_only(world):
    await world.carts.set_quantity("u1", MUG, 2)
    await world.carts.set_quantity("u2", TEA, 1)
    msg = await deliver(world.consumers, world.sub, envelope(confirmed(), "e-1"))
    assert (msg.acks, msg.naks) == (1, [])
    assert await items(world.carts, "u1") == []
    assert await items(world.carts, "u2") == [(TEA, 1)]
    assert await inbox(world.db, CONSUMER) == ["e-1"]
    # emptied for good: its currency is free again
    assert await world.db.fetch_all("SELECT user_id FROM carts") == [{"user_id": "u2"}]


async def test_a_confirmed_order_not_from_the_cart_leaves_the_cart_alone(world):
    await world.carts.set_quantity("u1", MUG, 2)
    msg = await deliver(world.consumers, world.sub,
                        envelope(confirmed(from_cart=False), "e-1"))
    assert msg.acks == 1
    assert await items(world.carts, "u1") == [(MUG, 2)]
    assert await inbox(world.db, CONSUMER) == ["e-1"]


async def test_what_was_put_in_after_the_order_stays_when_it_is_confirmed(world):
    await world.carts.set_quantity("u1", MUG, 2)
    # placed from the cart (2 mugs); before it is confirmed the customer shops on
    await world.carts.set_quantity("u1", MUG, 3)
    await world.carts.set_quantity("u1", TEA, 1)
    await deliver(world.consumers, world.sub, envelope(confirmed(), "e-1"))
    assert await items(world.carts, "u1") == [(MUG, 1), (TEA, 1)]


async def test_a_redelivered_confirmation_does_not_empty_the_cart_again(world):
    await world.carts.set_quantity("u1", MUG, 2)
    await deliver(world.consumers, world.sub, envelope(confirmed(), "e-1"))
    await world.carts.set_quantity("u1", MUG, 2)  # the customer shops on
    await world.carts.set_quantity("u1", TEA, 3)
    again = await deliver(world.consumers, world.sub, envelope(confirmed(), "e-1"), attempt=2)
    assert (again.acks, again.naks) == (1, [])
    assert await items(world.carts, "u1") == [(MUG, 2), (TEA, 3)]
    assert await inbox(world.db, CONSUMER) == ["e-1"]


async def test_a_failing_handler_keeps_the_cart_and_writes_no_inbox_row(world):
    await world.carts.set_quantity("u1", MUG, 2)

    async def empty_then_fail(tx, env, event):
        await world.carts.on_order_confirmed(tx, env, event)
        raise RuntimeError("boom after emptying")

    failing = type(world.sub)(world.sub.name, world.sub.events, empty_then_fail)
    msg = await deliver(world.consumers, failing, envelope(confirmed(), "e-1"))
    assert (msg.acks, msg.naks) == (0, [0.5])
    assert await items(world.carts, "u1") == [(MUG, 2)]
    assert await inbox(world.db, CONSUMER) == []
    retried = await deliver(world.consumers, world.sub, envelope(confirmed(), "e-1"), attempt=2)
    assert retried.acks == 1 and await items(world.carts, "u1") == []

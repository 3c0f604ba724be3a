"""Load shedding at the checkout: past MERCATO_CHECKOUT_MAX_IN_FLIGHT checkouts in
progress, a new order is refused at once (503, Retry-After) and nothing is written."""

from __future__ import annotations

import pytest

from mercato.services.orders.domain.refusals import CheckoutBusy, TooManyCheckouts
from mercato.services.orders.errors import ERRORS
from tests.unit.orders.conftest import ALICE, BOB, body


async def orders_written(shop) -> int:
    """Orders placed with their saga (what ``mercato verify`` lists)."""
    return len((await shop.store.facts())["orders"])


async def test_past_the_limit_a_new_order_is_refused_and_a_replay_still_answered(shop):
    shop.orders.max_in_flight = 2
    release = shop.hold()  # their reservations wait: both checkouts stay in progress
    first = await shop.orders.place_order(ALICE, body(), "key-1")
    await shop.order(ALICE, ("p1", 1), settle=False)
    with pytest.raises(CheckoutBusy) as refused:
        await shop.orders.place_order(ALICE, body(("p2", 1)), "key-2")
    answer = ERRORS.answer(refused.value)
    assert (answer.status, answer.kind, answer.retry_after) == (503, "checkout-busy", 1)
    assert answer.facts == {}
    assert "2 checkouts are in progress" in answer.detail
    assert await orders_written(shop) == 2  # the refused one left nothing behind
    # The client retrying an order that was accepted gets it back, limit or not.
    assert (await shop.orders.place_order(ALICE, body(), "key-1")).id == first.id
    release.set()
    await shop.settle(first.id)
    for order_id in list(shop.orders.runner.tasks):
        await shop.settle(order_id)
    again = await shop.orders.place_order(ALICE, body(("p2", 1)), "key-2")
    assert again.status.value == "pending"  # the same request, now taken


async def test_no_limit_takes_every_order(shop):
    shop.orders.max_in_flight = 0
    shop.hold()
    for _ in range(5):
        await shop.order(ALICE, ("p1", 1), settle=False)
    assert await orders_written(shop) == 5


async def test_one_customer_holds_only_a_share_and_others_are_still_taken(shop):
    shop.orders.max_in_flight, shop.orders.max_in_flight_per_customer = 10, 2
    release = shop.hold()  # every checkout stays in progress
    for _ in range(2):
        await shop.order(ALICE, ("p1", 1), settle=False)
    with pytest.raises(TooManyCheckouts) as refused:
        await shop.orders.place_order(ALICE, body(("p2", 1)), "alice-3")
    answer = ERRORS.answer(refused.value)
    assert (answer.status, answer.kind, answer.retry_after) == (429, "too-many-checkouts", 1)
    assert "you have 2 checkouts in progress" in answer.detail
    assert await orders_written(shop) == 2  # nothing of the refused one
    bobs = await shop.orders.place_order(BOB, body(("p2", 1)), "bob-1")  # another customer
    assert bobs.status.value == "pending"
    release.set()
    for order_id in list(shop.orders.runner.tasks):
        await shop.settle(order_id)
    again = await shop.orders.place_order(ALICE, body(("p2", 1)), "alice-3")
    assert again.status.value == "pending"  # her own finished: she is taken again

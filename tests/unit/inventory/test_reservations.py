"""Reservations, commits and releases through the handlers, on the in-memory repositories."""

from __future__ import annotations

import pytest

from mercato.chassis.errors import NotFound
from mercato.services.inventory.domain import (
    AlreadyCancelled,
    OutOfStock,
    RequestMismatch,
    ReservationConflict,
)
from tests.unit.inventory.conftest import (
    KNOWN,
    OTHER,
    THIRD,
    UNKNOWN,
    answer,
    assert_stock_conserved,
)


async def levels(inventory, product_id):
    s = await inventory.get_stock(product_id)
    return (s.on_hand, s.available, s.reserved, s.sold)


@pytest.fixture
async def stocked(inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    await inventory.adjust_stock(OTHER, 2, "initial", actor="a")
    return inventory


async def test_reservation_moves_units_from_available_to_reserved(stocked, clock):
    result, created = await stocked.reserve("r1", "o1", [(KNOWN, 3), (OTHER, 2)])
    assert created
    assert result == {"reservation_id": "r1", "order_id": "o1", "status": "reserved",
                      "items": [{"product_id": KNOWN, "quantity": 3},
                                {"product_id": OTHER, "quantity": 2}],
                      "expires_at": "2026-01-01T12:15:00Z"}
    assert await levels(stocked, KNOWN) == (10, 7, 3, 0)
    assert await levels(stocked, OTHER) == (2, 0, 2, 0)


async def test_reservation_is_all_or_nothing(stocked):
    with pytest.raises(OutOfStock) as caught:
        await stocked.reserve("r1", "o1", [(KNOWN, 3), (OTHER, 5)])
    problem = answer(caught.value)
    assert problem.status == 409 and problem.kind == "out-of-stock"
    assert problem.facts == {"product_ids": [OTHER]}
    assert "5 requested, 2 available" in problem.detail
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    assert await levels(stocked, OTHER) == (2, 2, 0, 0)
    await assert_stock_conserved(stocked)


async def test_a_refusal_names_every_short_product_including_ones_without_stock(stocked):
    with pytest.raises(OutOfStock) as caught:
        await stocked.reserve("r1", "o1", [(OTHER, 3), (KNOWN, 1), (UNKNOWN, 1), (THIRD, 1)])
    assert answer(caught.value).facts["product_ids"] == [OTHER, UNKNOWN, THIRD]
    assert f"product {UNKNOWN} has no stock" in answer(caught.value).detail
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)


async def test_the_same_reservation_id_again_returns_the_first_result_without_taking_more(
        stocked):
    first, _ = await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    again, created = await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    assert again == first and not created
    assert await levels(stocked, KNOWN) == (10, 7, 3, 0)


async def test_the_same_reservation_id_after_a_refusal_gets_the_same_409_even_if_restocked(
        stocked):
    with pytest.raises(OutOfStock) as first:
        await stocked.reserve("r1", "o1", [(OTHER, 5)])
    await stocked.adjust_stock(OTHER, 10, "delivery", actor="a")
    with pytest.raises(OutOfStock) as again:
        await stocked.reserve("r1", "o1", [(OTHER, 5)])
    assert (answer(again.value).status, answer(again.value).detail, answer(again.value).facts) == (
        answer(first.value).status, answer(first.value).detail, answer(first.value).facts)
    assert await levels(stocked, OTHER) == (12, 12, 0, 0)


async def test_the_same_reservation_id_with_other_items_is_422(stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    with pytest.raises(RequestMismatch) as caught:
        await stocked.reserve("r1", "o1", [(KNOWN, 4)])
    assert answer(caught.value).status == 422
    assert await levels(stocked, KNOWN) == (10, 7, 3, 0)


async def test_commit_moves_reserved_units_to_sold_once(stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3), (OTHER, 1)])
    first = await stocked.commit("r1")
    again = await stocked.commit("r1")
    assert first.as_dict()["status"] == again.as_dict()["status"] == "committed"
    assert await levels(stocked, KNOWN) == (10, 7, 0, 3)
    assert await levels(stocked, OTHER) == (2, 1, 0, 1)


async def test_commit_of_an_unknown_reservation_is_404(stocked):
    with pytest.raises(NotFound) as caught:
        await stocked.commit("nope")
    assert answer(caught.value).status == 404


async def test_release_returns_reserved_units_to_available_once(stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    first = await stocked.release("r1")
    again = await stocked.release("r1")
    assert first.status == again.status == "released"
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)


async def test_commit_after_release_is_409_and_changes_nothing(stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    await stocked.release("r1")
    with pytest.raises(ReservationConflict) as caught:
        await stocked.commit("r1")
    assert answer(caught.value).status == 409
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)


async def test_release_after_commit_is_409_and_changes_nothing(stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    await stocked.commit("r1")
    with pytest.raises(ReservationConflict) as caught:
        await stocked.release("r1")
    assert answer(caught.value).status == 409 and answer(caught.value).kind == "already-committed"
    assert await levels(stocked, KNOWN) == (10, 7, 0, 3)


async def test_reserve_after_release_is_already_cancelled(stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    await stocked.release("r1")
    with pytest.raises(AlreadyCancelled) as caught:
        await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    assert answer(caught.value).status == 409 and answer(caught.value).kind == "already-cancelled"
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)


async def test_release_of_an_unknown_reservation_leaves_a_tombstone_that_blocks_a_late_reserve(
        stocked):
    released = await stocked.release("late")
    assert released.as_dict()["status"] == "released" and released.tombstone
    with pytest.raises(AlreadyCancelled) as caught:
        await stocked.reserve("late", "o9", [(KNOWN, 1)])
    assert answer(caught.value).status == 409 and answer(caught.value).kind == "already-cancelled"
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    assert (await stocked.release("late")).status == "released"


async def test_commit_of_a_tombstone_is_409(stocked):
    await stocked.release("late")
    with pytest.raises(ReservationConflict) as caught:
        await stocked.commit("late")
    assert answer(caught.value).status == 409


async def test_a_refused_reservation_can_be_released_but_never_committed(stocked):
    with pytest.raises(OutOfStock):
        await stocked.reserve("r1", "o1", [(OTHER, 5)])
    with pytest.raises(ReservationConflict) as caught:
        await stocked.commit("r1")
    assert answer(caught.value).status == 409 and answer(caught.value).kind == "not-reserved"
    assert (await stocked.release("r1")).status == "released"
    with pytest.raises(AlreadyCancelled) as late:
        await stocked.reserve("r1", "o1", [(OTHER, 5)])
    assert answer(late.value).kind == "already-cancelled"
    assert await levels(stocked, OTHER) == (2, 2, 0, 0)


async def test_reservation_stores_its_expiry_for_a_later_sweeper(stocked, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 1)])
    stored = await stocked.reservations.get("r1")
    assert (stored.status, stored.created_at, stored.expires_at) == (
        "reserved", "2026-01-01T12:00:00Z", "2026-01-01T12:15:00Z")


async def test_repeated_products_in_one_reservation_are_reserved_together(stocked):
    result, _ = await stocked.reserve("r1", "o1", [(KNOWN, 2), (KNOWN, 3)])
    assert result["items"] == [{"product_id": KNOWN, "quantity": 5}]
    assert await levels(stocked, KNOWN) == (10, 5, 5, 0)
    await stocked.release("r1")
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)


async def test_return_brings_sold_goods_back_to_available_once_with_on_hand_unchanged(
        stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3), (OTHER, 1)])
    await stocked.commit("r1")
    first = await stocked.return_goods("r1")
    again = await stocked.return_goods("r1")
    assert first.as_dict()["status"] == again.as_dict()["status"] == "returned"
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    assert await levels(stocked, OTHER) == (2, 2, 0, 0)
    await assert_stock_conserved(stocked)


async def test_a_late_commit_after_a_return_sells_nothing_again(stocked):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    await stocked.commit("r1")
    await stocked.return_goods("r1")
    late = await stocked.commit("r1")
    assert late.status == "returned"
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    with pytest.raises(ReservationConflict) as caught:
        await stocked.release("r1")
    assert answer(caught.value).status == 409


async def test_return_of_an_unknown_reservation_is_404(stocked):
    with pytest.raises(NotFound) as caught:
        await stocked.return_goods("nope")
    assert answer(caught.value).status == 404


async def test_return_of_a_reservation_not_committed_is_409_and_changes_nothing(stocked):
    await stocked.reserve("held", "o1", [(KNOWN, 3)])
    await stocked.reserve("undone", "o2", [(KNOWN, 2)])
    await stocked.release("undone")
    for rid in ("held", "undone"):
        with pytest.raises(ReservationConflict) as caught:
            await stocked.return_goods(rid)
        assert answer(caught.value).status == 409 and answer(caught.value).kind == "not-committed"
    assert await levels(stocked, KNOWN) == (10, 7, 3, 0)

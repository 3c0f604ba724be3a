"""Stock adjustments through the handlers, on the in-memory repositories."""

from __future__ import annotations

import pytest

from mercato.chassis.errors import DependencyUnavailable, NotFound
from mercato.services.inventory.domain import InvalidRequest, RequestMismatch, WouldGoNegative
from tests.unit.inventory.conftest import (
    KNOWN,
    OTHER,
    UNKNOWN,
    answer,
    assert_stock_conserved,
)


async def test_stock_of_a_product_never_adjusted_is_not_found(inventory):
    with pytest.raises(NotFound) as caught:
        await inventory.get_stock(KNOWN)
    assert answer(caught.value).status == 404 and KNOWN in str(caught.value)


async def test_first_adjustment_creates_stock_after_checking_the_catalog(inventory, catalog):
    stock = await inventory.adjust_stock(KNOWN, 10, "initial count", actor="admin-1")
    assert stock.as_dict() == {"product_id": KNOWN, "on_hand": 10, "available": 10,
                               "reserved": 0, "sold": 0}
    assert catalog.calls == [KNOWN]
    assert (await inventory.get_stock(KNOWN)) == stock


async def test_later_adjustments_do_not_ask_the_catalog_again(inventory, catalog):
    await inventory.adjust_stock(KNOWN, 10, "initial count", actor="admin-1")
    catalog.up = False
    stock = await inventory.adjust_stock(KNOWN, -3, "damaged", actor="admin-1")
    assert (stock.on_hand, stock.available) == (7, 7)
    assert catalog.calls == [KNOWN]


async def test_adjusting_a_product_unknown_to_the_catalog_is_not_found(inventory):
    with pytest.raises(NotFound) as caught:
        await inventory.adjust_stock(UNKNOWN, 5, "initial count", actor="admin-1")
    assert answer(caught.value).status == 404 and UNKNOWN in str(caught.value)
    assert await inventory.stock.get(UNKNOWN) is None


async def test_first_adjustment_while_catalog_is_down_is_503_and_writes_nothing(
        inventory, catalog):
    catalog.up = False
    with pytest.raises(DependencyUnavailable) as caught:
        await inventory.adjust_stock(KNOWN, 5, "initial count", actor="admin-1")
    said = answer(caught.value)
    assert (said.status, said.kind, said.retry_after) == (503, "catalog-unavailable", 1)
    assert await inventory.stock.get(KNOWN) is None
    assert inventory.stock.ledger == []


async def test_negative_first_adjustment_is_refused_and_leaves_no_stock_record(inventory):
    with pytest.raises(WouldGoNegative) as caught:
        await inventory.adjust_stock(KNOWN, -1, "oops", actor="admin-1")
    assert answer(caught.value).status == 409
    assert await inventory.stock.get(KNOWN) is None


async def test_adjustment_never_goes_below_what_is_reserved_or_sold(inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial count", actor="admin-1")
    await inventory.reserve("r1", "o1", [(KNOWN, 4)])
    await inventory.reserve("r2", "o2", [(KNOWN, 3)])
    await inventory.commit("r2")
    with pytest.raises(WouldGoNegative) as caught:
        await inventory.adjust_stock(KNOWN, -4, "shrinkage", actor="admin-1")
    problem = answer(caught.value)
    assert problem.status == 409 and problem.kind == "insufficient-stock"
    assert problem.facts == {"product_id": KNOWN, "delta": -4, "available": 3}
    assert KNOWN in problem.detail and "reserved or sold" in problem.detail
    stock = await inventory.get_stock(KNOWN)
    assert (stock.on_hand, stock.available, stock.reserved, stock.sold) == (10, 3, 4, 3)
    drained = await inventory.adjust_stock(KNOWN, -3, "shrinkage", actor="admin-1")
    assert (drained.on_hand, drained.available) == (7, 0)
    await assert_stock_conserved(inventory)


async def test_every_adjustment_is_written_to_the_ledger(inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial count", actor="admin-1")
    await inventory.adjust_stock(KNOWN, -2, "damaged", actor="admin-2")
    with pytest.raises(WouldGoNegative):
        await inventory.adjust_stock(KNOWN, -20, "too much", actor="admin-2")
    assert inventory.stock.ledger == [
        {"product_id": KNOWN, "delta": 10, "reason": "initial count", "actor": "admin-1"},
        {"product_id": KNOWN, "delta": -2, "reason": "damaged", "actor": "admin-2"},
    ]


async def test_same_idempotency_key_and_body_returns_the_first_result_once(inventory):
    first = await inventory.adjust_stock(KNOWN, 10, "initial", actor="a", idempotency_key="k1")
    await inventory.adjust_stock(KNOWN, 5, "more", actor="a")
    again = await inventory.adjust_stock(KNOWN, 10, "initial", actor="a", idempotency_key="k1")
    assert again == first and again.on_hand == 10
    assert (await inventory.get_stock(KNOWN)).on_hand == 15


async def test_same_idempotency_key_with_another_body_is_422(inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a", idempotency_key="k1")
    for product, delta, reason in [(KNOWN, 11, "initial"), (KNOWN, 10, "other"),
                                   (OTHER, 10, "initial")]:
        with pytest.raises(RequestMismatch) as caught:
            await inventory.adjust_stock(product, delta, reason, actor="a",
                                         idempotency_key="k1")
        said = answer(caught.value)
        assert said.status == 422 and said.kind == "idempotency-mismatch"
    assert (await inventory.get_stock(KNOWN)).on_hand == 10


async def test_a_refused_adjustment_does_not_use_up_its_idempotency_key(inventory):
    await inventory.adjust_stock(KNOWN, 2, "initial", actor="a")
    with pytest.raises(WouldGoNegative):
        await inventory.adjust_stock(KNOWN, -5, "recount", actor="a", idempotency_key="k2")
    await inventory.adjust_stock(KNOWN, 3, "delivery", actor="a")
    stock = await inventory.adjust_stock(KNOWN, -5, "recount", actor="a", idempotency_key="k2")
    assert stock.on_hand == 0


async def test_zero_delta_and_blank_reason_are_refused_by_the_handler(inventory):
    for delta, reason in [(0, "x"), (1, "  ")]:
        with pytest.raises(InvalidRequest) as caught:
            await inventory.adjust_stock(KNOWN, delta, reason, actor="a")
        assert answer(caught.value).status == 422
    assert await inventory.stock.get(KNOWN) is None

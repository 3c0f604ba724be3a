"""Cart commands and queries through the handlers, against a real migrated database."""

from __future__ import annotations

import asyncio

import pytest

from mercato.chassis.errors import DependencyUnavailable, NotFound
from mercato.services.cart.domain import CartError, CartFull, CurrencyMismatch, Product
from tests.unit.cart.conftest import EURO_BOOK, MUG, TEA, UNKNOWN

EMPTY = {"items": [], "total": 0, "currency": "USD"}


async def test_an_empty_cart_is_shown_without_asking_the_catalog(carts, catalog):
    assert await carts.view("u1") == EMPTY
    assert catalog.calls == []


async def test_putting_an_item_returns_the_priced_cart(carts):
    cart = await carts.set_quantity("u1", MUG, 2)
    assert cart == {"items": [{"product_id": MUG, "quantity": 2, "unit_price": 1250}],
                    "total": 2500, "currency": "USD"}
    assert await carts.view("u1") == cart


async def test_put_sets_the_quantity_rather_than_adding_to_it(carts):
    await carts.set_quantity("u1", MUG, 2)
    cart = await carts.set_quantity("u1", MUG, 5)
    assert cart["items"] == [{"product_id": MUG, "quantity": 5, "unit_price": 1250}]


async def test_items_keep_the_order_they_were_added_in(carts):
    await carts.set_quantity("u1", TEA, 1)
    await carts.set_quantity("u1", MUG, 1)
    await carts.set_quantity("u1", TEA, 4)
    assert [i["product_id"] for i in (await carts.view("u1"))["items"]] == [TEA, MUG]


async def test_quantity_zero_removes_the_item(carts):
    await carts.set_quantity("u1", MUG, 2)
    await carts.set_quantity("u1", TEA, 1)
    cart = await carts.set_quantity("u1", MUG, 0)
    assert [i["product_id"] for i in cart["items"]] == [TEA] and cart["total"] == 499


async def test_removing_a_product_gone_from_the_catalog_works_without_the_catalog(
        carts, catalog):
    await carts.set_quantity("u1", MUG, 2)
    del catalog.products[MUG]
    catalog.up = False
    catalog.calls.clear()
    assert await carts.set_quantity("u1", MUG, 0) == EMPTY
    assert catalog.calls == []


async def test_an_unknown_product_is_404_naming_it_and_changes_nothing(carts):
    with pytest.raises(NotFound) as caught:
        await carts.set_quantity("u1", UNKNOWN, 1)
    assert str(caught.value) == f"product {UNKNOWN} is not in the catalog"
    assert await carts.view("u1") == EMPTY


async def test_an_item_in_another_currency_than_the_first_is_422(carts):
    await carts.set_quantity("u1", MUG, 1)
    with pytest.raises(CurrencyMismatch) as caught:
        await carts.set_quantity("u1", EURO_BOOK, 1)
    refused = caught.value
    assert (refused.product_id, refused.product_currency, refused.cart_currency) == (
        EURO_BOOK, "EUR", "USD")
    assert [i["product_id"] for i in (await carts.view("u1"))["items"]] == [MUG]


async def test_an_emptied_cart_takes_a_new_currency(carts):
    await carts.set_quantity("u1", MUG, 1)
    await carts.set_quantity("u1", MUG, 0)
    cart = await carts.set_quantity("u1", EURO_BOOK, 1)
    assert (cart["currency"], cart["total"]) == ("EUR", 2000)


async def test_prices_come_from_the_catalog_at_read_time_in_one_batch(carts, catalog):
    await carts.set_quantity("u1", MUG, 1)
    await carts.set_quantity("u1", TEA, 2)
    catalog.products[MUG] = Product(MUG, 1000, "USD")
    catalog.calls.clear()
    cart = await carts.view("u1")
    assert cart["total"] == 1000 + 2 * 499
    assert catalog.calls == [[MUG, TEA]]


async def test_a_product_that_disappeared_is_shown_unavailable_and_left_out_of_the_total(
        carts, catalog):
    await carts.set_quantity("u1", MUG, 1)
    await carts.set_quantity("u1", TEA, 2)
    del catalog.products[TEA]
    cart = await carts.view("u1")
    assert cart["total"] == 1250
    assert cart["items"][1] == {"product_id": TEA, "quantity": 2, "unit_price": None,
                                "unavailable": True}


async def test_catalog_down_is_503_on_read_and_on_put(carts, catalog):
    await carts.set_quantity("u1", MUG, 1)
    catalog.up = False
    for call in (carts.view("u1"), carts.set_quantity("u1", TEA, 1)):
        with pytest.raises(DependencyUnavailable) as caught:
            await call
        assert (caught.value.kind, caught.value.retry_after) == ("catalog-unavailable", 1)
    catalog.up = True
    assert [i["product_id"] for i in (await carts.view("u1"))["items"]] == [MUG]


async def test_clearing_a_cart_empties_it_and_frees_its_currency(carts):
    await carts.set_quantity("u1", MUG, 1)
    await carts.clear("u1")
    await carts.clear("u1")
    assert await carts.view("u1") == EMPTY
    assert (await carts.set_quantity("u1", EURO_BOOK, 1))["currency"] == "EUR"


async def test_each_user_has_their_own_cart(carts):
    await carts.set_quantity("u1", MUG, 1)
    await carts.set_quantity("u2", EURO_BOOK, 3)
    await carts.clear("u2")
    assert (await carts.view("u1"))["items"][0]["product_id"] == MUG
    assert await carts.view("u2") == EMPTY


async def test_a_cart_holds_at_most_a_hundred_products(carts, catalog):
    for n in range(101):
        catalog.products[f"p{n}"] = Product(f"p{n}", 1, "USD")
    for n in range(100):
        await carts.set_quantity("u1", f"p{n}", 1)
    with pytest.raises(CartFull):
        await carts.set_quantity("u1", "p100", 1)
    assert (await carts.set_quantity("u1", "p0", 2))["total"] == 101


async def test_concurrent_puts_of_two_currencies_into_an_empty_cart_keep_one_currency(carts):
    outcomes = await asyncio.gather(carts.set_quantity("u1", MUG, 1),
                                    carts.set_quantity("u1", EURO_BOOK, 1),
                                    return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, CartError)]
    assert len(refused) == 1 and isinstance(refused[0], CurrencyMismatch)
    cart = await carts.view("u1")
    assert len(cart["items"]) == 1 and "unavailable" not in cart["items"][0]

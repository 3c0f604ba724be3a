"""The cart's domain rules, without a database."""

from __future__ import annotations

import pytest

from mercato.services.cart.domain import (
    MAX_LINES,
    Cart,
    CartFull,
    CartLine,
    CurrencyMismatch,
    InvalidQuantity,
    Product,
    check_can_put,
    check_quantity,
    priced,
)

MUG = Product("mug", 1250, "USD")
TEA = Product("tea", 499, "USD")


def test_an_empty_cart_is_priced_at_zero_dollars():
    assert priced(Cart("u1", None), {}) == {"items": [], "total": 0, "currency": "USD"}


def test_total_is_the_sum_of_current_prices_times_quantities():
    cart = Cart("u1", "USD", (CartLine("mug", 2), CartLine("tea", 3)))
    view = priced(cart, {"mug": MUG, "tea": TEA})
    assert view["total"] == 2 * 1250 + 3 * 499
    assert view["items"] == [{"product_id": "mug", "quantity": 2, "unit_price": 1250},
                             {"product_id": "tea", "quantity": 3, "unit_price": 499}]


def test_a_product_gone_from_the_catalog_is_unavailable_and_not_in_the_total():
    cart = Cart("u1", "USD", (CartLine("mug", 2), CartLine("gone", 1)))
    view = priced(cart, {"mug": MUG})
    assert view["total"] == 2500
    assert view["items"][1] == {"product_id": "gone", "quantity": 1, "unit_price": None,
                                "unavailable": True}
    assert "unavailable" not in view["items"][0]


def test_a_product_now_sold_in_another_currency_is_unavailable_in_this_cart():
    cart = Cart("u1", "USD", (CartLine("mug", 1),))
    view = priced(cart, {"mug": Product("mug", 1100, "EUR")})
    assert view["total"] == 0 and view["items"][0]["unavailable"] is True
    assert view["currency"] == "USD"


def test_a_cart_in_euros_is_totalled_in_euros():
    cart = Cart("u1", "EUR", (CartLine("book", 1),))
    assert priced(cart, {"book": Product("book", 2000, "EUR")})["currency"] == "EUR"


@pytest.mark.parametrize("quantity", [-1, 100])
def test_quantity_outside_zero_to_ninety_nine_is_refused(quantity):
    with pytest.raises(InvalidQuantity):
        check_quantity(quantity)


def test_quantity_zero_and_ninety_nine_are_allowed():
    check_quantity(0)
    check_quantity(99)


def test_a_product_in_another_currency_than_the_cart_is_refused():
    with pytest.raises(CurrencyMismatch) as caught:
        check_can_put(Cart("u1", "USD", (CartLine("mug", 1),)), Product("book", 2000, "EUR"))
    assert (caught.value.product_currency, caught.value.cart_currency) == ("EUR", "USD")
    assert "book" in str(caught.value)


def test_an_empty_cart_takes_any_currency():
    check_can_put(Cart("u1", None), Product("book", 2000, "EUR"))


def test_a_full_cart_refuses_new_products_but_still_changes_its_lines():
    lines = tuple(CartLine(f"p{n}", 1) for n in range(MAX_LINES))
    cart = Cart("u1", "USD", lines)
    check_can_put(cart, Product("p0", 100, "USD"))
    with pytest.raises(CartFull):
        check_can_put(cart, Product("new", 100, "USD"))


def test_a_purchase_takes_its_goods_out_of_the_cart_and_leaves_the_rest():
    from mercato.services.cart.domain import Cart, CartLine, left_after

    cart = Cart("u1", "USD", (CartLine("mug", 3), CartLine("tea", 1), CartLine("book", 2)))
    assert left_after(cart, {"mug": 2, "tea": 1, "gone": 4}) == [("mug", 1), ("tea", 0)]
    assert left_after(cart, {"book": 5}) == [("book", 0)]
    assert left_after(Cart("u1", None), {"mug": 1}) == []

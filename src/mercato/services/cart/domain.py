"""Cart domain: a shopper's lines, one currency per cart, priced from the catalog at read time.

The cart keeps no prices: a price is only ever the catalog's current one, so a cart can
never show (or pass on to checkout) a stale price. The currency is fixed by the first item
put in and freed again when the cart is emptied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mercato.chassis.errors import DomainError

DEFAULT_CURRENCY = "USD"
MAX_QUANTITY = 99
MAX_LINES = 100


class CartError(DomainError):
    """A rule of the cart was broken; the message says which."""


class InvalidQuantity(CartError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"quantity: {reason}")


class CurrencyMismatch(CartError):
    def __init__(self, product_id: str, product_currency: str, cart_currency: str) -> None:
        super().__init__(
            f"product {product_id} is priced in {product_currency} but this cart is in "
            f"{cart_currency}; a cart holds one currency"
        )
        self.product_id = product_id
        self.product_currency = product_currency
        self.cart_currency = cart_currency


class CartFull(CartError):
    pass


@dataclass(frozen=True)
class Product:
    """What the cart needs to know of a catalog product."""

    product_id: str
    price: int
    currency: str
    name: str = ""


@dataclass(frozen=True)
class CartLine:
    product_id: str
    quantity: int


@dataclass(frozen=True)
class Cart:
    user_id: str
    currency: str | None  # None while the cart is empty
    lines: tuple[CartLine, ...] = ()

    @property
    def product_ids(self) -> list[str]:
        return [line.product_id for line in self.lines]

    def holds(self, product_id: str) -> bool:
        return product_id in self.product_ids


def check_quantity(quantity: int) -> None:
    if not 0 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(f"quantity must be between 0 and {MAX_QUANTITY}")


def check_can_put(cart: Cart, product: Product) -> None:
    """May ``product`` be put into ``cart`` (as a new line or a changed one)?"""
    if cart.currency is not None and product.currency != cart.currency:
        raise CurrencyMismatch(product.product_id, product.currency, cart.currency)
    if not cart.holds(product.product_id) and len(cart.lines) >= MAX_LINES:
        raise CartFull(f"a cart holds at most {MAX_LINES} different products")


def priced(cart: Cart, products: Mapping[str, Product]) -> dict:
    """The cart as shoppers see it. A product gone from the catalog (or no longer sold in
    the cart's currency) is shown as unavailable and left out of the total."""
    currency = cart.currency or DEFAULT_CURRENCY
    items, total = [], 0
    for line in cart.lines:
        product = products.get(line.product_id)
        item: dict = {"product_id": line.product_id, "quantity": line.quantity}
        if product is not None and product.name:
            item["name"] = product.name
        if product is None or product.currency != currency:
            item.update(unit_price=None, unavailable=True)
        else:
            item["unit_price"] = product.price
            total += product.price * line.quantity
        items.append(item)
    return {"items": items, "total": total, "currency": currency}


def left_after(cart: Cart, bought: Mapping[str, int]) -> list[tuple[str, int]]:
    """Each line of ``cart`` an order took goods from (``bought``: product id -> quantity)
    with what is left of it once they are gone (0: the line goes). What the customer put
    in after placing the order stays: a new product, or more of one than was ordered."""
    return [(line.product_id, max(0, line.quantity - bought[line.product_id]))
            for line in cart.lines if line.product_id in bought]

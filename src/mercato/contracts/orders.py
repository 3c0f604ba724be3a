"""Events published by orders."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mercato.contracts.envelope import Event


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    product_id: str
    quantity: int
    unit_price: int


class OrderPlaced(Event):
    """A customer placed an order; its checkout has begun."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    total: int
    currency: str
    items: list[OrderLine]
    from_cart: bool = False


class OrderConfirmed(Event):
    """Stock is committed and payment captured: the order will be shipped."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    total: int
    currency: str
    items: list[OrderLine]
    from_cart: bool = False


class OrderCancelled(Event):
    """The order ended cancelled; ``reason`` is one of the API's cancellation reasons.
    ``refunded`` is true when it had been confirmed and its payment was refunded."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    reason: str
    total: int
    currency: str
    refunded: bool = False

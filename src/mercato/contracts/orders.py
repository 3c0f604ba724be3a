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
    # What a choreographed checkout needs downstream (docs/choreography.md): where to ship,
    # and the card token sealed for payments (chassis/sealing.py); absent when orchestrated.
    shipping_address: dict[str, str] | None = None
    sealed_card_token: str | None = None
    # How this order's checkout runs: "orchestration" (orders drives it over HTTP) or
    # "choreography" (the participants react to events); participants' choreography
    # reactions leave orchestrated orders alone.
    checkout: str = "orchestration"


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


class OrderCancelling(Event):
    """A choreographed checkout is being called off (a step refused, the reservation
    expired, or the customer cancelled): every participant undoes its own part and says so
    (InventoryCheckoutUndone, PaymentCheckoutUndone, ShippingCheckoutUndone); then the order
    is cancelled (OrderCancelled)."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    reason: str


class OrderShipped(Event):
    """A confirmed order left with the courier (its shipment is in transit); from now on
    it can no longer be cancelled."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    tracking_number: str = ""


class OrderDelivered(Event):
    """A shipped order's parcel was delivered. ``total`` and ``currency`` (added later,
    hence the defaults) are what loyalty credits points for."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    total: int = 0
    currency: str = ""


class OrderRefundRequested(Event):
    """A delivered order is to be refunded (the customer, within the return window, or an
    admin asked): in a choreographed platform payments refunds its capture and says so
    (PaymentRefunded); then the order is refunded (OrderRefunded)."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    total: int
    currency: str
    checkout: str = "orchestration"


class OrderRefunded(Event):
    """A delivered order was refunded: its payment given back. Loyalty reverses its points."""

    SOURCE = "orders"
    order_id: str
    customer_id: str
    total: int
    currency: str

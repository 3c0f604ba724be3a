"""The order's own events: what the aggregate is stored as.

These are private to orders. What the rest of the platform hears is the published language
in ``mercato.contracts.orders`` (built from these by ``adapters/events.py``); the two may
evolve apart. An event's data is a plain dict of JSON types, so the store can keep it as
text; an old event must stay readable, so a field added later gets a default here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int
    unit_price: int
    name: str = ""

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class OrderPlaced:
    customer: str
    lines: tuple[Line, ...]
    currency: str
    address: dict = field(hash=False)
    from_cart: bool = False


@dataclass(frozen=True)
class OrderConfirmed:
    pass


@dataclass(frozen=True)
class OrderCancelled:
    reason: str
    refunded: bool = False  # it had been confirmed: the payment was refunded


@dataclass(frozen=True)
class OrderProgressed:
    """A step of the checkout succeeded (``reserved``, ``paid``, ``shipment_scheduled``):
    a milestone of the order's timeline, which does not change its status."""

    step: str


@dataclass(frozen=True)
class OrderShipped:
    """The courier has the parcel: it is on its way."""

    tracking_number: str = ""


@dataclass(frozen=True)
class OrderDelivered:
    pass


@dataclass(frozen=True)
class OrderRefunded:
    """A delivered order's payment was given back (the goods stay with the customer)."""


DomainEvent = (OrderPlaced | OrderConfirmed | OrderCancelled | OrderProgressed | OrderShipped
               | OrderDelivered | OrderRefunded)


@dataclass(frozen=True)
class Recorded:
    """One event of one order's stream: its place in the stream and when it happened."""

    order_id: str
    version: int  # 1 for OrderPlaced, then one more per event
    at: str
    event: DomainEvent

    @property
    def type(self) -> str:
        return type(self.event).__name__


def to_data(event: DomainEvent) -> dict:
    if isinstance(event, OrderPlaced):
        return {"customer": event.customer, "currency": event.currency,
                "address": event.address, "from_cart": event.from_cart,
                "lines": [{"product_id": x.product_id, "name": x.name, "quantity": x.quantity,
                           "unit_price": x.unit_price} for x in event.lines]}
    if isinstance(event, OrderCancelled):
        return {"reason": event.reason, "refunded": event.refunded}
    if isinstance(event, OrderProgressed):
        return {"step": event.step}
    if isinstance(event, OrderShipped):
        return {"tracking_number": event.tracking_number}
    return {}


def from_data(type_name: str, data: dict) -> DomainEvent:
    if type_name == "OrderPlaced":
        return OrderPlaced(customer=data["customer"], currency=data["currency"],
                           address=data["address"], from_cart=bool(data.get("from_cart")),
                           lines=tuple(Line(**x) for x in data["lines"]))
    if type_name == "OrderCancelled":
        return OrderCancelled(reason=data["reason"], refunded=bool(data.get("refunded")))
    if type_name == "OrderConfirmed":
        return OrderConfirmed()
    if type_name == "OrderProgressed":
        return OrderProgressed(step=data["step"])
    if type_name == "OrderShipped":
        return OrderShipped(tracking_number=data.get("tracking_number", ""))
    if type_name == "OrderDelivered":
        return OrderDelivered()
    if type_name == "OrderRefunded":
        return OrderRefunded()
    raise ValueError(f"unknown order event type {type_name!r}")


def check_consecutive(records: Sequence[Recorded], expected_version: int) -> None:
    """Events appended together are one order's, numbered on from ``expected_version``;
    anything else is a caller's bug (``ValueError``), whatever stores them."""
    if not records:
        return
    order_id = records[0].order_id
    versions = [r.version for r in records]
    if versions != list(range(expected_version + 1, expected_version + 1 + len(records))) \
            or any(r.order_id != order_id for r in records):
        raise ValueError(f"events to append must follow {order_id} v{expected_version}, "
                         f"one order, consecutive: got {versions}")

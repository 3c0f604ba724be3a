"""Events published by shipping."""

from __future__ import annotations

from mercato.contracts.envelope import Event


class ShipmentScheduled(Event):
    """A shipment was booked for an order; ``tracking_number`` follows it."""

    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str
    tracking_number: str


class ShipmentCancelled(Event):
    """A scheduled shipment was called off."""

    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str


class ShipmentFailed(Event):
    """A shipment could not be booked (e.g. the address is not delivered to)."""

    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str
    reason: str
    detail: str = ""


class ShippingCheckoutUndone(Event):
    """Shipping's part of a cancelled checkout is undone. ``outcome``: "cancelled" or
    "nothing" (never scheduled; a late schedule will be refused), or "delivered" (the
    parcel had arrived already: nothing could be called back)."""

    SOURCE = "shipping"
    order_id: str
    shipment_id: str
    outcome: str


class ShipmentLabelled(Event):
    """The courier labelled a shipment of a confirmed order; it is to be collected."""

    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str
    tracking_number: str
    labelled_at: str


class ShipmentDispatched(Event):
    """The courier collected the parcel: the shipment is in transit (status
    ``in_transit``)."""

    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str
    tracking_number: str
    dispatched_at: str


class ShipmentDelivered(Event):
    """The courier delivered the parcel to the shipping address."""

    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str
    tracking_number: str
    delivered_at: str

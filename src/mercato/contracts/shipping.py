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

"""Events published by shipping."""

from __future__ import annotations

from mercato.contracts.envelope import Event


class ShipmentScheduled(Event):
    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str
    tracking_number: str


class ShipmentCancelled(Event):
    SOURCE = "shipping"
    shipment_id: str
    order_id: str
    customer_id: str

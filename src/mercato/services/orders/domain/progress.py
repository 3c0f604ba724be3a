"""An order's timeline: the milestones the storefront draws (``progress`` in the API).

Each is recorded once, when orders learns of it: placed, confirmed, shipped and delivered
with the order's status changes; reserved, paid and shipment scheduled when the checkout's
steps succeed (the saga's answers when orchestrated, the participants' events when
choreographed, in whatever order those arrive).
"""

from __future__ import annotations

from enum import StrEnum


class Milestone(StrEnum):
    """The steps of an order's timeline (``progress``), in their order."""

    PLACED = "placed"
    RESERVED = "reserved"
    PAID = "paid"
    SHIPMENT_SCHEDULED = "shipment_scheduled"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    REFUNDED = "refunded"  # after the delivery, when the customer got their money back


MILESTONES = list(Milestone)
# The checkout's own steps, recorded by OrderProgressed (the others come with a status).
CHECKOUT_MILESTONES = (Milestone.RESERVED, Milestone.PAID, Milestone.SHIPMENT_SCHEDULED)


def progress_list(progress: dict) -> list[dict]:
    """The API's ``progress``: ``[{step, at}]`` in the timeline's order (not the order in
    which orders heard of them: a choreography's events come from several streams)."""
    return [{"step": m.value, "at": progress[m.value]} for m in MILESTONES
            if m.value in progress]

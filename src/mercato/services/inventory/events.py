"""What inventory tells the rest of the platform: every movement of stock.

A reservation's events are named by the reservation id and the transition, so a repeated
request (which moves nothing) could never publish a second event even if it tried.
Tombstones move no stock and publish nothing; a refused reservation moves none either but
says so (StockReservationFailed), which a choreographed checkout waits for. An expiry gives
the units back like a release and says so with StockReleased too (its id names the ``expired``
transition; a reservation leaves ``reserved`` once, so it is released or expired, never
both).
"""

from __future__ import annotations

import uuid

from mercato.contracts.envelope import Event
from mercato.contracts.inventory import (
    StockCommitted,
    StockLine,
    StockReleased,
    StockReservationFailed,
    StockReserved,
    StockReturned,
)
from mercato.services.inventory.domain import Reservation, Status

NAMESPACE = uuid.UUID("3e9a1c57-8d2b-4f60-b7e4-1a5c9d0f2b36")
TRANSITIONS = {
    Status.RESERVED: StockReserved,
    Status.COMMITTED: StockCommitted,
    Status.RELEASED: StockReleased,
    Status.RETURNED: StockReturned,
    Status.EXPIRED: StockReleased,
    Status.REJECTED: StockReservationFailed,
}
# Why a StockReleased was published (its ``reason``).
RELEASE_REASONS = {Status.RELEASED: "released", Status.EXPIRED: "expired"}


def event_id(subject_id: str, transition: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{subject_id}/{transition}"))


def reservation_event(r: Reservation, to: Status) -> tuple[str, Event]:
    """The event of moving reservation ``r``'s stock to ``to``, with its id."""
    fields: dict = {}
    if to in RELEASE_REASONS:
        fields["reason"] = RELEASE_REASONS[to]
    if to is Status.REJECTED:
        fields["detail"] = (r.refusal or {}).get("detail", "")
    event = TRANSITIONS[to](
        reservation_id=r.reservation_id, order_id=r.order_id or "",
        items=[StockLine(product_id=li.product_id, quantity=li.quantity) for li in r.lines],
        **fields)
    return event_id(r.reservation_id, to.value), event

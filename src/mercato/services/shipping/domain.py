"""Shipping domain: a shipment, where it may go, how the courier moves it, and how it is
cancelled.

A shipment is scheduled during the checkout and stays put until its order is confirmed
(``release``); then the courier moves it on a schedule: labelled, in transit, delivered
(``advance``). It can be cancelled until it is delivered: a labelled parcel is not handed
over, one in transit is called back; a delivered one cannot be undone.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from mercato.chassis.errors import DependencyUnavailable, DomainError

TRACKING_PREFIX = "MRC"
TRACKING_ALPHABET = string.ascii_uppercase + string.digits
TRACKING_LENGTH = 10


class Status(StrEnum):
    SCHEDULED = "scheduled"
    LABELLED = "labelled"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


# The courier's route: each status it moves a released shipment on from, and to.
COURIER_NEXT = {Status.SCHEDULED: Status.LABELLED, Status.LABELLED: Status.IN_TRANSIT,
                Status.IN_TRANSIT: Status.DELIVERED}


class ShippingError(DomainError):
    """A rule of shipping was broken; the message says which."""


class AlreadyDelivered(ShippingError):
    def __init__(self, shipment_id: str) -> None:
        super().__init__(f"shipment {shipment_id} was delivered; it cannot be cancelled",
                         shipment_id=shipment_id)
        self.shipment_id = shipment_id


class AlreadyCancelled(ShippingError):
    """The shipment was cancelled (or its cancel came first): it cannot be scheduled."""

    def __init__(self, shipment_id: str) -> None:
        super().__init__(f"shipment {shipment_id} was cancelled; it cannot be scheduled",
                         shipment_id=shipment_id)
        self.shipment_id = shipment_id


class NotDeliverable(ShippingError):
    def __init__(self, country: str) -> None:
        super().__init__(f"shipping does not deliver to country {country}", country=country)
        self.country = country


class IdempotencyMismatch(ShippingError):
    """A repeated schedule names the shipment id of another order or customer."""

    def __init__(self, shipment_id: str) -> None:
        super().__init__(f"shipment {shipment_id} was first scheduled for another order or "
                         "customer")
        self.shipment_id = shipment_id


class NoTrackingNumber(DependencyUnavailable):
    """No unique tracking number was found in a few tries; the caller may try again."""

    def __init__(self) -> None:
        super().__init__("could not allocate a unique tracking number; try again",
                         retry_after=1)


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str

    def __post_init__(self) -> None:
        for field in ("name", "line1", "city", "postal_code"):
            if not getattr(self, field).strip():
                raise ShippingError(f"address {field} must not be blank")
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise ShippingError("address country must be a two-letter ISO code such as US")

    def as_dict(self) -> dict:
        return {"name": self.name, "line1": self.line1, "city": self.city,
                "postal_code": self.postal_code, "country": self.country}


@dataclass(frozen=True)
class Item:
    product_id: str
    quantity: int

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or self.quantity <= 0:
            raise ShippingError("item quantity must be a positive integer")


@dataclass(frozen=True)
class Shipment:
    id: str
    order_id: str
    customer_id: str
    address: Address
    items: tuple[Item, ...]
    status: Status
    tracking_number: str
    created_at: str
    updated_at: str
    released_at: str | None = None  # its order was confirmed: the courier may move it
    due_at: str | None = None  # when the courier takes its next step (``stamp``)

    def __post_init__(self) -> None:
        if not self.items:
            raise ShippingError("a shipment needs at least one item")

    def cancelled(self, at: str) -> Shipment:
        """The shipment after a cancel; itself when it is already cancelled. Labelled or in
        transit, the courier stops (the parcel is called back); delivered, it is too late."""
        if self.status is Status.CANCELLED:
            return self
        if self.status is Status.DELIVERED:
            raise AlreadyDelivered(self.id)
        return replace(self, status=Status.CANCELLED, updated_at=at, due_at=None)

    def release(self, at: datetime, schedule: CourierSchedule) -> Shipment:
        """Its order is confirmed: the courier labels it ``schedule.label`` seconds from
        ``at``. Itself when released already, or cancelled (a cancelled order never ships)."""
        if self.released_at is not None or self.status is not Status.SCHEDULED:
            return self
        return replace(self, released_at=iso_text(at),
                       due_at=stamp(at + schedule.delay(Status.SCHEDULED)))

    def is_due(self, at: datetime) -> bool:
        return (self.released_at is not None and self.status in COURIER_NEXT
                and self.due_at is not None and self.due_at <= stamp(at))

    def advance(self, at: datetime, schedule: CourierSchedule) -> Shipment:
        """The courier's next step if it is due at ``at`` (itself if not): the next status,
        and when the step after it is due (none once delivered)."""
        if not self.is_due(at):
            return self
        status = COURIER_NEXT[self.status]
        due = stamp(at + schedule.delay(status)) if status in COURIER_NEXT else None
        return replace(self, status=status, updated_at=iso_text(at), due_at=due)

    def same_request(self, order_id: str, customer_id: str) -> bool:
        """Whether a repeated schedule names the same shipment as the first one."""
        return (self.order_id, self.customer_id) == (order_id, customer_id)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "order_id": self.order_id, "status": str(self.status),
            "tracking_number": self.tracking_number, "address": self.address.as_dict(),
            "created_at": self.created_at, "updated_at": self.updated_at,
            "released_at": self.released_at,
        }


@dataclass(frozen=True)
class CourierSchedule:
    """Seconds the courier takes: from the order's confirmation to the label, from the
    label to dispatch (in transit), from dispatch to delivery. The defaults are the demo's
    pace (label ~30 s, in transit ~1 min, delivered ~3 min after the confirmation);
    ``at_speed`` divides them, so tests see a delivery in seconds."""

    label: float = 30.0
    dispatch: float = 30.0
    deliver: float = 120.0

    @classmethod
    def at_speed(cls, speedup: float) -> CourierSchedule:
        if not speedup > 0:
            raise ShippingError(f"the courier's speed-up must be positive, not {speedup}")
        base = cls()
        return cls(base.label / speedup, base.dispatch / speedup, base.deliver / speedup)

    def delay(self, status: Status) -> timedelta:
        """How long after reaching ``status`` the courier takes the next step."""
        seconds = {Status.SCHEDULED: self.label, Status.LABELLED: self.dispatch,
                   Status.IN_TRANSIT: self.deliver}[status]
        return timedelta(seconds=seconds)


def stamp(moment: datetime) -> str:
    """A due time as fixed-width UTC text, so that text order is time order in SQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def check_deliverable(address: Address, blocked_countries: Iterable[str]) -> None:
    if address.country in {c.upper() for c in blocked_countries}:
        raise NotDeliverable(address.country)


def tracking_number(pick: Callable[[str], str]) -> str:
    """``MRC`` and ten upper-case letters or digits, each chosen by ``pick``."""
    return TRACKING_PREFIX + "".join(pick(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def is_tracking_number(text: str) -> bool:
    body = text[len(TRACKING_PREFIX):]
    return (text.startswith(TRACKING_PREFIX) and len(body) == TRACKING_LENGTH
            and all(c in TRACKING_ALPHABET for c in body))

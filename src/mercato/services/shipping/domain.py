"""Shipping domain: a shipment, where it may go, and how it is cancelled."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

TRACKING_PREFIX = "MRC"
TRACKING_ALPHABET = string.ascii_uppercase + string.digits
TRACKING_LENGTH = 10


class Status(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class ShippingError(Exception):
    """A rule of shipping was broken; the message says which."""


class NotDeliverable(ShippingError):
    def __init__(self, country: str) -> None:
        super().__init__(f"shipping does not deliver to country {country}")
        self.country = country


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

    def __post_init__(self) -> None:
        if not self.items:
            raise ShippingError("a shipment needs at least one item")

    def cancelled(self, at: str) -> Shipment:
        """The shipment after a cancel; itself when it is already cancelled."""
        if self.status is Status.CANCELLED:
            return self
        return replace(self, status=Status.CANCELLED, updated_at=at)

    def same_request(self, order_id: str, customer_id: str) -> bool:
        """Whether a repeated schedule names the same shipment as the first one."""
        return (self.order_id, self.customer_id) == (order_id, customer_id)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "order_id": self.order_id, "status": str(self.status),
            "tracking_number": self.tracking_number, "address": self.address.as_dict(),
            "created_at": self.created_at, "updated_at": self.updated_at,
        }


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

"""Inventory domain: stock levels, reservations and the rules that keep stock conserved.

Per product, ``on_hand = available + reserved + sold`` and none is negative. Stock moves
only along these paths: an adjustment changes on_hand and available together; a
reservation moves units available -> reserved; a commit reserved -> sold; a release
reserved -> available, and so does an expiry: a reservation still held when its
``expires_at`` has passed is given up (by the sweeper, or by a commit that comes too late).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mercato.chassis.errors import DomainError

# How long reserved units are held before an expiry sweeper may return them.
RESERVATION_TTL = timedelta(minutes=15)


class InventoryError(DomainError):
    """A rule of the inventory was broken; the message says which (errors.py: what each
    answers)."""


class InvalidRequest(InventoryError):
    pass


class StockInvariantBroken(InventoryError):
    """Stored stock does not add up: a bug, never a client's fault."""


class WouldGoNegative(InventoryError):
    def __init__(self, product_id: str, delta: int, available: int) -> None:
        super().__init__(
            f"adjusting product {product_id} by {delta} would leave {available + delta} "
            f"available (now {available}); stock never goes below what is reserved or sold"
        )
        self.product_id = product_id
        self.delta = delta
        self.available = available


class OutOfStock(InventoryError):
    def __init__(self, detail: str, product_ids: list[str]) -> None:
        super().__init__(detail)
        self.product_ids = product_ids


class AlreadyCancelled(InventoryError):
    pass


class ReservationConflict(InventoryError):
    """The reservation is in a state the requested transition cannot leave."""

    def __init__(self, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.kind = kind


class RequestMismatch(InventoryError):
    """An id or idempotency key was reused for a different request."""


@dataclass(frozen=True)
class Stock:
    product_id: str
    on_hand: int
    available: int
    reserved: int
    sold: int

    def __post_init__(self) -> None:
        if min(self.available, self.reserved, self.sold) < 0:
            raise StockInvariantBroken(f"negative stock for product {self.product_id}")
        if self.on_hand != self.available + self.reserved + self.sold:
            raise StockInvariantBroken(f"stock of product {self.product_id} does not add up")

    def adjusted(self, delta: int) -> Stock:
        if self.available + delta < 0:
            raise WouldGoNegative(self.product_id, delta, self.available)
        return replace(self, on_hand=self.on_hand + delta, available=self.available + delta)

    def as_dict(self) -> dict:
        return {"product_id": self.product_id, "on_hand": self.on_hand,
                "available": self.available, "reserved": self.reserved, "sold": self.sold}


def check_adjustment(delta: int, reason: str) -> None:
    if delta == 0:
        raise InvalidRequest("delta must not be zero")
    if not reason.strip():
        raise InvalidRequest("reason must not be blank")


def fingerprint(payload: dict) -> str:
    """A stable digest of a request body, to tell a retry from a reused key."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int

    def as_dict(self) -> dict:
        return {"product_id": self.product_id, "quantity": self.quantity}


def merge_lines(items: Iterable[tuple[str, int]]) -> tuple[Line, ...]:
    """One line per product (repeated products are summed), in first-seen order."""
    merged: dict[str, int] = {}
    for product_id, quantity in items:
        if quantity <= 0:
            raise InvalidRequest(f"quantity of product {product_id} must be positive")
        merged[product_id] = merged.get(product_id, 0) + quantity
    if not merged:
        raise InvalidRequest("a reservation needs at least one item")
    return tuple(Line(p, q) for p, q in merged.items())


class Status(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"
    RETURNED = "returned"  # committed, then its goods came back
    REJECTED = "rejected"  # refused for lack of stock; remembered so a retry gets the same 409
    EXPIRED = "expired"  # held past its deadline: its units went back to available


class Action(StrEnum):
    MOVE_STOCK = "move-stock"  # change stock and status
    MARK = "mark"  # change status only
    NOTHING = "nothing"  # already there: idempotent repeat


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    order_id: str | None
    status: Status
    lines: tuple[Line, ...]
    created_at: str
    expires_at: str | None
    refusal: dict | None = None  # {"detail", "product_ids"} of a rejected reservation
    tombstone: bool = False  # released before it was ever seen

    def first_result(self) -> dict:
        """The body of the answer to the reserve call that created this reservation."""
        return {"reservation_id": self.reservation_id, "order_id": self.order_id,
                "status": Status.RESERVED.value, "items": [li.as_dict() for li in self.lines],
                "expires_at": self.expires_at}

    def as_dict(self) -> dict:
        return {**self.first_result(), "status": self.status.value}

    def replay(self, order_id: str, lines: tuple[Line, ...]) -> dict:
        """The answer to the same reserve call again: the first result, or its refusal."""
        if self.status == Status.RELEASED:
            raise AlreadyCancelled(f"reservation {self.reservation_id} was already released")
        if self.status == Status.EXPIRED:
            raise expired(self)
        if self.order_id != order_id or sorted(self.lines, key=_key) != sorted(lines, key=_key):
            raise RequestMismatch(
                f"reservation {self.reservation_id} already exists with other items or order"
            )
        if self.status == Status.REJECTED:
            refusal = self.refusal or {}
            raise OutOfStock(refusal.get("detail", "not enough stock"),
                             list(refusal.get("product_ids", [])))
        return self.first_result()


def _key(line: Line) -> str:
    return line.product_id


def is_due(r: Reservation, now: datetime) -> bool:
    """Whether ``r`` still holds stock past its deadline, so it must expire."""
    return (r.status == Status.RESERVED and r.expires_at is not None
            and datetime.fromisoformat(r.expires_at) <= now)


def expired(r: Reservation) -> ReservationConflict:
    return ReservationConflict(
        f"reservation {r.reservation_id} expired at {r.expires_at}; its stock was released",
        "reservation-expired")


def commit_action(r: Reservation) -> Action:
    if r.status == Status.RESERVED:
        return Action.MOVE_STOCK
    if r.status in (Status.COMMITTED, Status.RETURNED):
        return Action.NOTHING  # a late repeat of a commit that happened
    if r.status == Status.RELEASED:
        raise ReservationConflict(
            f"reservation {r.reservation_id} was released; cannot commit", "already-cancelled")
    if r.status == Status.EXPIRED:
        raise expired(r)
    raise ReservationConflict(
        f"reservation {r.reservation_id} was refused for lack of stock; nothing to commit",
        "not-reserved")


def release_action(r: Reservation) -> Action:
    if r.status == Status.RESERVED:
        return Action.MOVE_STOCK
    if r.status in (Status.RELEASED, Status.EXPIRED):
        return Action.NOTHING  # an expired reservation's stock is back already
    if r.status == Status.REJECTED:
        return Action.MARK
    done = "committed" if r.status == Status.COMMITTED else "committed and returned"
    raise ReservationConflict(
        f"reservation {r.reservation_id} was {done}; cannot release", "already-committed")


def return_action(r: Reservation) -> Action:
    if r.status == Status.COMMITTED:
        return Action.MOVE_STOCK
    if r.status == Status.RETURNED:
        return Action.NOTHING
    raise ReservationConflict(
        f"reservation {r.reservation_id} is {r.status.value}, not committed; nothing to return",
        "not-committed")

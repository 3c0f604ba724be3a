"""The order aggregate, event-sourced: an ``Order`` is the fold of its events.

A command (``place``, ``confirm``, ``cancel``) checks the rules against the current state
and returns the new events without changing anything; the caller appends them to the
store (the expected version is ``order.version``) and applies them. So the state that
decisions are made on is always exactly what the stored events say.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from mercato.services.orders.domain.events import (
    DomainEvent,
    Line,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    Recorded,
)

__all__ = ["Change", "Line", "Order", "OrderError", "Reason", "Status"]


class OrderError(Exception):
    """A rule of the order was broken; the message says which."""


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Reason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_UNAVAILABLE = "payment_unavailable"
    SHIPPING_UNAVAILABLE = "shipping_unavailable"
    CUSTOMER_REQUEST = "customer_request"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Change:
    status: Status
    at: str
    reason: str | None = None


@dataclass
class Order:
    id: str
    customer_id: str
    lines: list[Line]
    currency: str
    shipping_address: dict
    created_at: str
    status: Status = Status.PENDING
    reason: str | None = None
    history: list[Change] = field(default_factory=list)
    from_cart: bool = False  # the customer's cart is emptied once it is confirmed
    version: int = 0  # of the last event folded in

    # -- commands: decide, return the new events --------------------------------
    @classmethod
    def place(cls, order_id: str, customer_id: str, lines: list[Line], currency: str,
              address: dict, at: str, *, from_cart: bool = False) -> list[Recorded]:
        if not lines:
            raise OrderError("an order needs at least one item")
        merged: dict[str, Line] = {}
        for line in lines:
            if line.quantity <= 0:
                raise OrderError(f"quantity of {line.product_id} must be positive")
            if line.product_id in merged:
                old = merged[line.product_id]
                line = Line(line.product_id, old.quantity + line.quantity, line.unit_price,
                            line.name)
            merged[line.product_id] = line
        placed = OrderPlaced(customer=customer_id, lines=tuple(merged.values()),
                             currency=currency, address=address, from_cart=from_cart)
        return [Recorded(order_id, 1, at, placed)]

    def confirm(self, at: str) -> list[Recorded]:
        if self.status is not Status.PENDING:
            raise OrderError(f"a {self.status} order cannot be confirmed")
        return self._next(at, OrderConfirmed())

    def cancel(self, reason: Reason, at: str, *, refunded: bool = False) -> list[Recorded]:
        """A confirmed order's payment is always refunded when it is cancelled; a pending
        one's was if ``refunded`` (captured, then the commit of its stock was refused)."""
        if self.status is Status.CANCELLED:
            raise OrderError("the order is already cancelled")
        return self._next(at, OrderCancelled(
            reason.value, refunded=refunded or self.status is Status.CONFIRMED))

    def _next(self, at: str, *events: DomainEvent) -> list[Recorded]:
        return [Recorded(self.id, self.version + n, at, e) for n, e in enumerate(events, 1)]

    # -- the fold ---------------------------------------------------------------
    @classmethod
    def fold(cls, records: Iterable[Recorded]) -> Order | None:
        """The order its events describe, or None for no events."""
        order: Order | None = None
        for record in records:
            if order is None:
                order = cls._started(record)
            else:
                order.apply(record)
        return order

    @classmethod
    def _started(cls, record: Recorded) -> Order:
        placed = record.event
        if record.version != 1 or not isinstance(placed, OrderPlaced):
            raise OrderError(f"order {record.order_id} starts with {record.type} "
                             f"v{record.version}, not OrderPlaced v1")
        return cls(record.order_id, placed.customer, list(placed.lines), placed.currency,
                   placed.address, record.at, history=[Change(Status.PENDING, record.at)],
                   from_cart=placed.from_cart, version=1)

    def apply(self, record: Recorded) -> None:
        """Fold one more event in (events come from the store, so they are facts: the
        only check is that none is missing or repeated)."""
        if record.version != self.version + 1 or record.order_id != self.id:
            raise OrderError(f"event {record.order_id} v{record.version} does not follow "
                             f"{self.id} v{self.version}")
        event = record.event
        if isinstance(event, OrderConfirmed):
            self.status = Status.CONFIRMED
            self.history.append(Change(Status.CONFIRMED, record.at))
        elif isinstance(event, OrderCancelled):
            self.status, self.reason = Status.CANCELLED, event.reason
            self.history.append(Change(Status.CANCELLED, record.at, event.reason))
        else:
            raise OrderError(f"order {self.id} cannot be placed twice")
        self.version = record.version

    # -- reading ------------------------------------------------------------------
    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def is_terminal(self) -> bool:
        return self.status is not Status.PENDING

    def as_dict(self) -> dict:
        return {
            "id": self.id, "customer_id": self.customer_id, "status": self.status.value,
            "reason": self.reason, "total": self.total, "currency": self.currency,
            "items": [{"product_id": x.product_id, "name": x.name, "quantity": x.quantity,
                       "unit_price": x.unit_price, "amount": x.amount} for x in self.lines],
            "shipping_address": self.shipping_address, "created_at": self.created_at,
            "history": [{"status": c.status.value, "at": c.at, "reason": c.reason}
                        for c in self.history],
        }

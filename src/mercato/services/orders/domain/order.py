"""The order aggregate: what was bought, for how much, and how its status moved."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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
class Line:
    product_id: str
    quantity: int
    unit_price: int
    name: str = ""

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


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

    @classmethod
    def place(cls, order_id: str, customer_id: str, lines: list[Line], currency: str,
              address: dict, at: str, *, from_cart: bool = False) -> Order:
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
        order = cls(order_id, customer_id, list(merged.values()), currency, address, at,
                    from_cart=from_cart)
        order.history.append(Change(Status.PENDING, at))
        return order

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def is_terminal(self) -> bool:
        return self.status is not Status.PENDING

    def confirm(self, at: str) -> None:
        if self.status is not Status.PENDING:
            raise OrderError(f"a {self.status} order cannot be confirmed")
        self.status = Status.CONFIRMED
        self.history.append(Change(Status.CONFIRMED, at))

    def cancel(self, reason: Reason, at: str) -> None:
        if self.status is Status.CANCELLED:
            raise OrderError("the order is already cancelled")
        self.status = Status.CANCELLED
        self.reason = reason.value
        self.history.append(Change(Status.CANCELLED, at, reason.value))

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

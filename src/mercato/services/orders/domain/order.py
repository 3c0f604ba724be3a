"""The order aggregate, event-sourced: an ``Order`` is the fold of its events.

A command (``place``, ``confirm``, ``cancel``, ``ship``, ``deliver``, ``progressed``) checks
the rules against the current state and returns the new events without changing anything;
the caller appends them to the store (the expected version is ``order.version``) and
applies them. So the state that decisions are made on is always exactly what the stored
events say.

After its confirmation an order is shipped, then delivered; once shipped it can no longer
be cancelled. ``progress`` is the order's timeline as orders learnt it: each milestone
(placed, reserved, paid, shipment scheduled, confirmed, shipped, delivered) once, with
when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mercato.chassis.errors import DomainError
from mercato.services.orders.domain.events import (
    DomainEvent,
    Line,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderPlaced,
    OrderProgressed,
    OrderRefunded,
    OrderShipped,
    Recorded,
)
from mercato.services.orders.domain.progress import (
    CHECKOUT_MILESTONES,
    Milestone,
    progress_list,
)

__all__ = ["AlreadyShipped", "Change", "InvalidOrder", "Line", "Milestone", "NotRefundable",
           "Order", "OrderError", "Reason", "Status"]


class OrderError(DomainError):
    """A rule of the order was broken; the message says which (errors.py: what each of
    the family answers)."""


class InvalidOrder(OrderError):
    """The order asked for cannot be placed as it is (no items, a bad quantity)."""


class AlreadyShipped(OrderError):
    """The order has left the warehouse: it can no longer be cancelled."""

    def __init__(self, order_id: str, status: Status) -> None:
        super().__init__(f"order {order_id} is {status.value}; a shipped order can no longer "
                         "be cancelled")
        self.order_id = order_id
        self.status = status


class NotRefundable(OrderError):
    """Only a delivered order is refunded, and by its customer only within the return
    window (an admin at any time)."""

    def __init__(self, order_id: str, why: str) -> None:
        super().__init__(f"order {order_id} cannot be refunded: {why}")
        self.order_id = order_id


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"  # delivered, then its payment given back


# Confirmed and after: the order was paid for and is being (or was) delivered.
FULFILLED = (Status.CONFIRMED, Status.SHIPPED, Status.DELIVERED)


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
    progress: dict[Milestone, str] = field(default_factory=dict)  # milestone -> when

    # -- commands: decide, return the new events --------------------------------
    @classmethod
    def place(cls, order_id: str, customer_id: str, lines: list[Line], currency: str,
              address: dict, at: str, *, from_cart: bool = False) -> list[Recorded]:
        if not lines:
            raise InvalidOrder("an order needs at least one item")
        merged: dict[str, Line] = {}
        for line in lines:
            if line.quantity <= 0:
                raise InvalidOrder(f"quantity of {line.product_id} must be positive")
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
        one's was if ``refunded`` (captured, then the commit of its stock was refused).
        A shipped or delivered order cannot be cancelled (``AlreadyShipped``)."""
        self.check_cancellable()
        return self._next(at, OrderCancelled(
            reason.value, refunded=refunded or self.status is Status.CONFIRMED))

    def check_cancellable(self) -> None:
        if self.status is Status.CANCELLED:
            raise OrderError("the order is already cancelled")
        if self.status in (Status.SHIPPED, Status.DELIVERED, Status.REFUNDED):
            raise AlreadyShipped(self.id, self.status)

    def progressed(self, step: Milestone, at: str) -> list[Recorded]:
        """A checkout step succeeded; nothing when it is known already, or the order was
        cancelled (a step heard late, and undone since)."""
        if step not in CHECKOUT_MILESTONES:
            raise OrderError(f"{step} is not a step of the checkout")
        if step in self.progress or self.status is Status.CANCELLED:
            return []
        return self._next(at, OrderProgressed(step.value))

    def ship(self, at: str, tracking_number: str = "") -> list[Recorded]:
        """The courier has the parcel; nothing if the order was shipped already."""
        if self.status in (Status.SHIPPED, Status.DELIVERED, Status.REFUNDED):
            return []
        if self.status is not Status.CONFIRMED:
            raise OrderError(f"a {self.status} order cannot be shipped")
        return self._next(at, OrderShipped(tracking_number))

    def deliver(self, at: str) -> list[Recorded]:
        """The parcel arrived; nothing if the order was delivered (or refunded) already."""
        if self.status in (Status.DELIVERED, Status.REFUNDED):
            return []
        if self.status is not Status.SHIPPED:
            raise OrderError(f"a {self.status} order cannot be delivered")
        return self._next(at, OrderDelivered())

    def check_refundable(self, now: datetime, window: timedelta | None) -> None:
        """``NotRefundable`` unless delivered (or refunded already: a repeat) and, with a
        ``window`` (the customer's request), delivered within it."""
        if self.status is Status.REFUNDED:
            return
        if self.status is not Status.DELIVERED:
            raise NotRefundable(self.id, f"it is {self.status}, not delivered")
        delivered = datetime.fromisoformat(self.progress[Milestone.DELIVERED])
        if window is not None and now > delivered + window:
            raise NotRefundable(self.id, f"the return window of {window} after its "
                                "delivery has closed")

    def refund(self, at: str) -> list[Recorded]:
        """Its payment was given back; nothing if the order was refunded already."""
        if self.status is Status.REFUNDED:
            return []
        if self.status is not Status.DELIVERED:
            raise OrderError(f"a {self.status} order cannot be refunded")
        return self._next(at, OrderRefunded())

    @staticmethod
    def chain(first: list[Recorded], then: list[Recorded]) -> list[Recorded]:
        """``first`` and then ``then``, both decided on the same state: ``then``'s versions
        move past ``first``'s."""
        return [*first, *(replace(r, version=r.version + len(first)) for r in then)]

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
                   from_cart=placed.from_cart, version=1,
                   progress={Milestone.PLACED: record.at})

    def apply(self, record: Recorded) -> None:
        """Fold one more event in (events come from the store, so they are facts: the
        only check is that none is missing or repeated)."""
        if record.version != self.version + 1 or record.order_id != self.id:
            raise OrderError(f"event {record.order_id} v{record.version} does not follow "
                             f"{self.id} v{self.version}")
        event = record.event
        if isinstance(event, OrderProgressed):
            self.progress.setdefault(Milestone(event.step), record.at)
        elif isinstance(event, OrderConfirmed | OrderShipped | OrderDelivered | OrderRefunded):
            self.status = STATUS_OF[type(event)]
            self.history.append(Change(self.status, record.at))
            self.progress.setdefault(Milestone(self.status.value), record.at)
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

    def as_dict(self) -> dict:
        return {
            "id": self.id, "customer_id": self.customer_id, "status": self.status.value,
            "reason": self.reason, "total": self.total, "currency": self.currency,
            "items": [{"product_id": x.product_id, "name": x.name, "quantity": x.quantity,
                       "unit_price": x.unit_price, "amount": x.amount} for x in self.lines],
            "shipping_address": self.shipping_address, "created_at": self.created_at,
            "history": [{"status": c.status.value, "at": c.at, "reason": c.reason}
                        for c in self.history],
            "progress": progress_list(self.progress),
        }


STATUS_OF = {OrderConfirmed: Status.CONFIRMED, OrderShipped: Status.SHIPPED,
             OrderDelivered: Status.DELIVERED, OrderRefunded: Status.REFUNDED}

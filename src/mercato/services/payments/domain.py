"""Payments domain: a payment, its legal status transitions, and the card provider port."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"
    FAILED = "failed"


class Action(StrEnum):
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


# action -> (statuses it may start from, status it leads to). Reaching the target again
# is a no-op, which is what makes capture, void and refund idempotent. A failed payment
# holds no money, so voiding it only closes it (a compensation must never get stuck).
RULES: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.CAPTURE: (frozenset({Status.AUTHORIZED}), Status.CAPTURED),
    Action.VOID: (frozenset({Status.AUTHORIZED, Status.FAILED}), Status.VOIDED),
    Action.REFUND: (frozenset({Status.CAPTURED}), Status.REFUNDED),
}


class PaymentError(Exception):
    """A rule of payments was broken; the message says which."""


class IllegalTransition(PaymentError):
    def __init__(self, payment_id: str, status: Status, action: Action) -> None:
        super().__init__(f"payment {payment_id} is {status}; {action} is not allowed from there")
        self.status = status
        self.action = action


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    customer_id: str
    amount: int
    currency: str
    status: Status
    provider_reference: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise PaymentError("amount must be a positive integer in minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise PaymentError("currency must be a three-letter ISO code such as USD")

    def apply(self, action: Action, at: str) -> Payment:
        """The payment after ``action``; itself when it is already there (idempotent)."""
        sources, target = RULES[action]
        if self.status == target:
            return self
        if self.status not in sources:
            raise IllegalTransition(self.id, self.status, action)
        return replace(self, status=target, updated_at=at)

    def same_request(self, order_id: str, customer_id: str, amount: int, currency: str) -> bool:
        """Whether a repeated authorize names the same payment as the first one."""
        return (self.order_id, self.customer_id, self.amount, self.currency) == (
            order_id, customer_id, amount, currency)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "order_id": self.order_id, "status": str(self.status),
            "amount": self.amount, "currency": self.currency,
            "created_at": self.created_at, "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class ProviderResult:
    """What the card provider answered: approved (with its reference) or declined (why)."""

    approved: bool
    reference: str | None = None
    reason: str | None = None


class ProviderFailure(Exception):
    """The provider failed or could not be reached; the outcome is unknown, so transient."""


class ProviderTimeout(ProviderFailure):
    """The provider did not answer within the configured timeout."""


class CardProvider(Protocol):
    """The port to a card processor. ``reference`` is our payment id, which a real
    provider uses as its idempotency key."""

    async def authorize(self, token: str, amount: int, currency: str,
                        reference: str) -> ProviderResult: ...

    async def capture(self, provider_reference: str, amount: int) -> ProviderResult: ...

    async def void(self, provider_reference: str) -> ProviderResult: ...

    async def refund(self, provider_reference: str, amount: int) -> ProviderResult: ...

"""Payments domain: a payment, its legal status transitions, the refusals of its rules
(answered as errors.py says), and what the card provider answers (its port is in
ports.py; what a doubtful answer settles to is in doubts.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from mercato.chassis.errors import DomainError


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


class PaymentError(DomainError):
    """A rule of payments was broken; the message says which."""


class InvalidPayment(PaymentError):
    """A payment that cannot exist: a non-positive amount, a malformed currency."""


class IllegalTransition(PaymentError):
    """The payment's status does not allow the action (a capture of a voided payment)."""

    def __init__(self, payment_id: str, status: Status, action: Action) -> None:
        super().__init__(f"payment {payment_id} is {status}; {action} is not allowed from there",
                         payment_id=payment_id, payment_status=str(status))
        self.payment_id = payment_id
        self.status = status
        self.action = action


class ChangedMeanwhile(PaymentError):
    """Another instance moved the payment while this one asked the provider."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment {payment_id} changed meanwhile; try again",
                         payment_id=payment_id)
        self.payment_id = payment_id


class AlreadyCancelled(PaymentError):
    """The payment was voided (or its id tombstoned): never authorized or moved again."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment {payment_id} was voided; it cannot be authorized or moved",
                         payment_id=payment_id)
        self.payment_id = payment_id


class CardDeclined(PaymentError):
    """The provider declined the authorization; ``reason`` is its answer."""

    def __init__(self, payment_id: str, reason: str | None) -> None:
        super().__init__(f"the card was declined: {reason}", payment_id=payment_id,
                         reason=reason)
        self.payment_id = payment_id
        self.reason = reason


class RequestMismatch(PaymentError):
    """A repeated authorize names another order, customer, amount or currency."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment {payment_id} was first authorized for another "
                         "order, customer, amount or currency")
        self.payment_id = payment_id


class ProviderRefused(DomainError):
    """The provider refused a capture, void or refund of an authorization it gave."""

    def __init__(self, payment_id: str, action: Action, reason: str | None) -> None:
        super().__init__(f"the card provider refused to {action} payment {payment_id}: "
                         f"{reason}")
        self.payment_id = payment_id
        self.action = action
        self.reason = reason


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
            raise InvalidPayment("amount must be a positive integer in minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidPayment("currency must be a three-letter ISO code such as USD")

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


@dataclass(frozen=True)
class ProviderRecord:
    """What the provider holds for one of our payments, as its lookup answers: its
    reference and status (authorized, captured, voided, refunded or declined)."""

    reference: str
    status: str


# The reason a provider gives for refusing to void an authorization it already captured
# (its answer to a capture that timed out here): the money is given back by a refund.
ALREADY_CAPTURED = "captured"


class ProviderFailure(Exception):
    """The provider failed or could not be reached; the outcome is unknown, so transient."""


class ProviderTimeout(ProviderFailure):
    """The provider did not answer within the configured timeout."""


"""What a participant's answer means to the checkout saga: the forward steps' refusals and
the compensation rules (docs/internal-transport.md §2). Pure: an adapter (HTTP today,
gRPC next) turns its protocol's reply into an ``Answer`` and these rules decide.

An ``Answer`` carries the participant's status in HTTP's numbers on every transport (the
gRPC adapter reads it back from the trailers), the problem kind, a detail and the facts
(a problem's extra members, or a success's fields).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A participant's reply to one command."""

    status: int
    kind: str = ""
    detail: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def described(self) -> str:
        return f"{self.status}: {self.detail}"[:300]


@dataclass(frozen=True)
class Result:
    """What the saga records of a step: ``ok``, ``rejected`` (a final refusal),
    ``transient`` (it answered a failure worth retrying) or ``unreachable`` (no answer)."""

    outcome: str
    detail: str = ""
    reason: str | None = None  # a cancellation reason the refusal implies, if not the step's
    refunded: bool = False  # a compensation that gave captured money back (or found it given)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


OK = Result("ok")
REFUSALS = (402, 409, 422)  # a forward step refused for good; anything else is retried
UNDONE_PAYMENT = ("voided", "refunded", "failed")
NOTHING_TO_REFUND = ("authorized", "voided", "failed", "refunded")


def forward(answer: Answer, refusals: tuple[int, ...] = REFUSALS) -> Result:
    """A forward step's answer. An expired reservation is final with reason ``expired``
    (the stock was given back because the saga took too long); 5xx, 404, 408 and 429 are
    worth another attempt; the other refusals are final."""
    if answer.ok:
        return OK
    detail = answer.described()
    if answer.status == 409 and answer.kind == "reservation-expired":
        return Result("rejected", detail, reason="expired")
    if answer.status in refusals:
        return Result("rejected", detail)
    if answer.status >= 500 or answer.status in (404, 408, 429):
        return Result("transient", detail)
    return Result("rejected", detail)


def confirmation(answer: Answer) -> Result:
    """The commit of the reservation, once the payment is captured: refused for good only
    when the reservation expired (then the saga refunds and cancels); anything else is
    tried again."""
    result = forward(answer, refusals=())
    if result.ok or result.reason == "expired":
        return result
    return Result("transient", result.detail)


def undone(answer: Answer, done_if: Callable[[Answer], bool] = lambda _a: False) -> Result:
    """A compensating call's answer. Done when it succeeded, when the thing is unknown
    (404) or tombstoned (``already-cancelled``), or when ``done_if`` recognises the refusal
    as "nothing left to undo". Any other refusal is *not* done: it is retried, because
    marking it done could leave money or stock behind."""
    if answer.ok or answer.status == 404:
        return Result("ok", "" if answer.ok else answer.described())
    if answer.status == 409 and (answer.kind == "already-cancelled" or done_if(answer)):
        return Result("ok", answer.described())
    return Result("transient", answer.described())


def release_needs_return(answer: Answer) -> bool:
    """A release that finds the stock committed: the goods were sold, bring them back."""
    return answer.kind == "already-committed"


def voided(answer: Answer) -> Result:
    """A void's answer; a void that finds the payment refunded (by an earlier undo)
    counts as a refund."""
    result = undone(answer, lambda a: a.facts.get("payment_status") in UNDONE_PAYMENT)
    if answer.facts.get("payment_status") == "refunded":
        return replace(result, refunded=True)
    return result


def void_needs_refund(answer: Answer) -> bool:
    """A capture landed after all: the void becomes a refund."""
    return answer.facts.get("payment_status") == "captured"


def refunded(answer: Answer) -> Result:
    """A refund's answer. Not captured (authorized, voided, failed): nothing to refund,
    a void follows; refunded, now or before: ``refunded``."""
    result = undone(answer, lambda a: a.facts.get("payment_status") in NOTHING_TO_REFUND)
    if "refunded" in (answer.facts.get("status"), answer.facts.get("payment_status")):
        return replace(result, refunded=True)
    return result


def shipment_cancelled(answer: Answer) -> Result:
    """Delivered already (the customer's cancel and the courier crossed): nothing can be
    called back, and `mercato verify` names such an order."""
    return undone(answer, lambda a: a.kind == "already-delivered")


def returned(answer: Answer) -> Result:
    """Goods brought back: done, or tried again (a sold reservation is always returnable)."""
    result = forward(answer, refusals=())
    return result if result.ok else Result("transient", result.detail)

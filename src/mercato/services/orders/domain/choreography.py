"""What orders makes of the events of a choreographed checkout (docs/choreography.md).

No plan and no commands: each participant's event is recorded on the order's saga row as
the step it reports (so ``/ops/sagas/{id}`` reads the same in both modes), and a few of
them decide the order's fate: StockCommitted confirms it; a refusal, or the reservation's
expiry, calls the checkout off (OrderCancelling), and once every participant has said its
part is undone the order is cancelled. Events arrive from three streams in any order, so
recording never assumes one: a step is marked with what was heard, the first time.
"""

from __future__ import annotations

from dataclasses import dataclass

from mercato.services.orders.domain.order import Reason
from mercato.services.orders.domain.progress import Milestone
from mercato.services.orders.domain.saga import MILESTONE, CheckoutSaga, Phase, Step

FORWARD = {
    "StockReserved": Step.RESERVE,
    "PaymentAuthorized": Step.AUTHORIZE,
    "ShipmentScheduled": Step.SCHEDULE,
    "PaymentCaptured": Step.CAPTURE,
    "StockCommitted": Step.CONFIRM,
}
REFUSALS = {
    "StockReservationFailed": (Step.RESERVE, Reason.OUT_OF_STOCK),
    "PaymentFailed": (Step.AUTHORIZE, Reason.PAYMENT_DECLINED),
    "ShipmentFailed": (Step.SCHEDULE, Reason.SHIPPING_UNAVAILABLE),
}
# Each participant's "my part is undone", recorded under these step names.
UNDONE = {
    "InventoryCheckoutUndone": "inventory_undone",
    "PaymentCheckoutUndone": "payment_undone",
    "ShippingCheckoutUndone": "shipping_undone",
}
EXPIRY = "StockReleased"  # heard for its ``expired`` reason only
EVENT_TYPES = (*FORWARD, *REFUSALS, *UNDONE, EXPIRY)
# A payment the provider never answered is "unavailable", as when the orchestrator gives up.
UNAVAILABLE = {"provider_unavailable"}


@dataclass(frozen=True)
class Verdict:
    """What to do with the order: confirm it, call its checkout off for ``abort``, or
    (``undone``) cancel it now that every participant has undone its part; and the
    milestone of its timeline that the event reports (``progress``), if any."""

    confirm: bool = False
    abort: Reason | None = None
    undone: bool = False
    progress: Milestone | None = None


UNCHANGED = Verdict()


def heard(saga: CheckoutSaga, event_type: str, at: str, *, reason: str | None = None,
          detail: str | None = None) -> Verdict:
    """Record ``event_type`` (with the event's own ``reason``, or ``detail``: an undo's
    outcome) on ``saga`` and say what it means for the order. Hearing the same event
    twice changes nothing more."""
    if event_type in FORWARD:
        step = FORWARD[event_type]
        _mark(saga, step, "done", at, detail)
        if _position(_next(step)) > _position(saga.step):
            saga.step = _next(step)
        return Verdict(confirm=step is Step.CONFIRM, progress=MILESTONE.get(step))
    if event_type in REFUSALS:
        step, why = REFUSALS[event_type]
        _mark(saga, step, "rejected", at, detail or reason)
        if step is Step.AUTHORIZE and reason in UNAVAILABLE:
            why = Reason.PAYMENT_UNAVAILABLE
        return Verdict(abort=why)
    if event_type in UNDONE:
        _mark(saga, UNDONE[event_type], "done", at, detail)
        return Verdict(undone=all_undone(saga))
    if event_type == EXPIRY:
        if reason != "expired":
            return UNCHANGED  # a release is heard through InventoryCheckoutUndone
        _mark(saga, "reservation_expired", "done", at, "the reservation expired")
        return Verdict(abort=Reason.EXPIRED)
    raise ValueError(f"a choreographed checkout does not expect {event_type}")


def step_of(event_type: str) -> str:
    """The step of the checkout that ``event_type`` reports (for a reaction's span)."""
    if event_type in FORWARD:
        return FORWARD[event_type].value
    if event_type in REFUSALS:
        return REFUSALS[event_type][0].value
    return UNDONE.get(event_type, "reservation_expired" if event_type == EXPIRY else "?")


def all_undone(saga: CheckoutSaga) -> bool:
    return all(name in saga.records for name in UNDONE.values())


def refunded(saga: CheckoutSaga) -> bool:
    """Whether undoing the payment refunded a capture."""
    rec = saga.records.get(UNDONE["PaymentCheckoutUndone"])
    return rec is not None and rec.detail == "refunded"


def call_off(saga: CheckoutSaga, reason: Reason) -> bool:
    """Start undoing the checkout (True), unless it is being undone or over already."""
    if saga.phase not in (Phase.FORWARD, Phase.CONFIRMED):
        return False
    saga.phase, saga.reason = Phase.COMPENSATING, saga.reason or reason.value
    return True


def _mark(saga: CheckoutSaga, step: Step | str, state: str, at: str,
          detail: str | None) -> None:
    rec = saga.record(step)
    if rec.finished_at is not None:
        return  # heard already (a redelivery)
    rec.state, rec.detail = state, detail
    rec.attempts = 1
    rec.started_at = rec.started_at or at
    rec.finished_at = at


def _position(step: Step) -> int:
    return list(FORWARD.values()).index(step)


def _next(step: Step) -> Step:
    steps = list(FORWARD.values())
    return steps[min(steps.index(step) + 1, len(steps) - 1)]

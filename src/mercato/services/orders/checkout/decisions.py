"""What the saga runner saves after each thing it learns, as pure functions of the saga
and the order in hand (no I/O): when a save is lost to another writer, the runner reads
both again and applies the same decision to the fresh copy, as a late reply would be.

A decision returns the order's events to save with the saga and whether it claimed the
next attempt of the current step, or None when there is nothing to save (the copy in hand
has moved on, and it decides what comes next).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mercato.chassis.clock import iso
from mercato.chassis.logging import get_logger
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.events import Recorded
from mercato.services.orders.domain.order import Order, Reason, Status
from mercato.services.orders.domain.saga import MILESTONE, CheckoutSaga, Phase, Step

log = get_logger(__name__)
Decision = tuple[list[Recorded], bool] | None
Decide = Callable[[CheckoutSaga, Order, datetime], Decision]


@dataclass(frozen=True)
class StepPolicy:
    """Seconds each forward step may take, all its attempts together (the confirmation
    has no deadline), and the failures a participant may answer for one step (None: only
    the deadline bounds them)."""

    deadlines: Mapping[Step, float]
    max_attempts: int | None = None


def settle(saga: CheckoutSaga, order: Order, now: datetime) -> list[Recorded]:
    """The order's events that bring it in line with a finished saga (none if it is
    already), to be saved in the same transaction as the saga."""
    if saga.phase in (Phase.CONFIRMED, Phase.REFUNDING) and order.status is Status.PENDING:
        return order.confirm(iso(now))
    if saga.phase is Phase.CANCELLED and order.status is not Status.CANCELLED:
        return order.cancel(Reason(saga.reason or Reason.EXPIRED.value), iso(now),
                            refunded=saga.refunded)
    return []


def claim(policy: StepPolicy) -> Decide:
    """Claim an attempt of the current step (saved before the call, so a runner whose copy
    was stale stops at its save), unless a cancel or the step's deadline says otherwise."""
    def decide(saga: CheckoutSaga, order: Order, now: datetime) -> Decision:
        saga.honour_cancel()
        if saga.phase is not Phase.FORWARD:
            return None  # cancelled, or finished by someone else: the loop goes on by phase
        step, deadline = saga.step, policy.deadlines.get(saga.step)
        if saga.overdue(step, iso(now), deadline):  # e.g. it passed while backing off
            saga.give_up(step, iso(now), f"deadline of {deadline:g}s passed before attempt "
                         f"{saga.record(step).attempts + 1}")
            log.info("saga_step_given_up", order_id=order.id, step=step.value)
            return settle(saga, order, now), False
        saga.begin(step, iso(now))
        return [], True
    return decide


def answer(step: Step, result: Result, policy: StepPolicy) -> Decide:
    """What a participant's answer for ``step`` decides; when the saga moves on, the next
    step's first attempt is claimed in the same save. A success is also a milestone of
    the order's timeline (reserved, paid, shipment scheduled), saved with it."""
    def decide(saga: CheckoutSaga, order: Order, now: datetime) -> Decision:
        if saga.phase is not Phase.FORWARD or saga.step is not step:
            return None  # late or duplicate (a fresh copy went on): the copy decides
        if result.ok:
            saga.succeeded(step, iso(now), result.detail or None)
            reached = order.progressed(MILESTONE[step], iso(now)) if step in MILESTONE else []
            return _along(reached, _after_answer(step, policy, saga, order, now))
        if result.outcome == "rejected":
            saga.rejected(step, iso(now), result.detail,
                          Reason(result.reason) if result.reason else None)
        elif saga.failed(step, iso(now), result.detail, deadline=policy.deadlines.get(step),
                         max_attempts=policy.max_attempts,
                         answered=result.outcome == "transient"):
            return [], False  # tried again after a backoff, and claimed then
        return _after_answer(step, policy, saga, order, now)
    return decide


def _after_answer(step: Step, policy: StepPolicy, saga: CheckoutSaga, order: Order,
                  now: datetime) -> Decision:
    if saga.phase is Phase.FORWARD and saga.step is not step:
        return claim(policy)(saga, order, now)
    return settle(saga, order, now), False


def _along(reached: list[Recorded], decision: Decision) -> Decision:
    """``decision`` with the milestone ``reached`` saved before its own events."""
    if not reached:
        return decision
    changes, claimed = decision if decision is not None else ([], False)
    return Order.chain(reached, changes), claimed


def undone(what: Step | str, result: Result) -> Decide:
    """A compensation (``Step``) or a refund step (its name) that succeeded."""
    def decide(saga: CheckoutSaga, order: Order, now: datetime) -> Decision:
        if isinstance(what, Step):
            saga.compensated(what, iso(now), result.detail or None, refunded=result.refunded)
        else:
            saga.refund_step_done(what, iso(now), result.detail or None,
                                  refunded=result.refunded)
        return settle(saga, order, now), False
    return decide


def settled(saga: CheckoutSaga, order: Order, now: datetime) -> Decision:
    """Bring the order in line with the finished saga; nothing to save if it is."""
    changes = settle(saga, order, now)
    return (changes, False) if changes else None

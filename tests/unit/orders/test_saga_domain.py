"""The saga's decisions on times and replies it is given, without I/O: when a step's
deadline has passed, what a late or duplicate reply changes (nothing), what is kept."""

from __future__ import annotations

import pytest

from mercato.services.orders.domain.order import Reason
from mercato.services.orders.domain.saga import (
    COMPENSATION,
    FORWARD,
    ON_GIVE_UP,
    CheckoutSaga,
    Phase,
    Step,
)

T0 = "2026-01-01T10:00:00Z"


def at(seconds: float) -> str:
    return f"2026-01-01T10:{int(seconds) // 60:02d}:{seconds % 60:06.3f}Z"


def saga_at(step: Step) -> CheckoutSaga:
    """A saga whose steps before ``step`` succeeded, and ``step`` started at T0."""
    saga = CheckoutSaga("o-1", "tok_ok")
    for done in FORWARD[:FORWARD.index(step)]:
        saga.begin(done, T0)
        saga.succeeded(done, T0)
    saga.begin(step, T0)
    return saga


@pytest.mark.parametrize("step", FORWARD[:-1])
@pytest.mark.parametrize("answered", [True, False])
def test_a_failing_step_is_retried_until_its_deadline_then_compensated(step, answered):
    saga = saga_at(step)
    assert saga.failed(step, at(29.999), "503", deadline=30, answered=answered)
    assert saga.phase is Phase.FORWARD and saga.record(step).finished_at is None
    assert not saga.failed(step, at(30), "503", deadline=30, answered=answered)
    assert (saga.phase, saga.reason) == (Phase.COMPENSATING, ON_GIVE_UP[step].value)
    rec = saga.record(step)
    assert (rec.state, rec.finished_at) == ("unknown", at(30))
    assert rec.detail == "deadline of 30s passed: 503"
    assert saga.next_compensation() is step  # its outcome is unknown: undone too


def test_the_deadline_counts_from_the_first_attempt_not_the_latest():
    saga = saga_at(Step.AUTHORIZE)
    saga.failed(Step.AUTHORIZE, at(10), "503", deadline=30)
    saga.begin(Step.AUTHORIZE, at(20))
    assert saga.record(Step.AUTHORIZE).started_at == T0
    assert saga.overdue(Step.AUTHORIZE, at(30), 30)
    assert not saga.overdue(Step.AUTHORIZE, at(29), 30)


def test_answered_failures_are_also_bounded_by_max_attempts_within_the_deadline():
    saga = saga_at(Step.AUTHORIZE)
    assert saga.failed(Step.AUTHORIZE, at(1), "503", deadline=30, max_attempts=2)
    assert saga.failed(Step.AUTHORIZE, at(2), "no answer", deadline=30, max_attempts=2,
                       answered=False)  # silence is not an answered failure
    assert not saga.failed(Step.AUTHORIZE, at(3), "503", deadline=30, max_attempts=2)
    assert saga.reason == "payment_unavailable"


def test_the_confirmation_after_capture_never_gives_up():
    saga = saga_at(Step.CONFIRM)
    for n in range(1, 6):
        assert saga.failed(Step.CONFIRM, at(100 * n), "503", deadline=30, max_attempts=1)
    assert not saga.overdue(Step.CONFIRM, at(3000), 30)
    saga.give_up(Step.CONFIRM, at(3000), "asked to")
    assert saga.phase is Phase.FORWARD and saga.step is Step.CONFIRM


def test_no_deadline_and_a_step_never_tried_are_never_overdue():
    saga = CheckoutSaga("o-1", "tok_ok")
    assert not saga.overdue(Step.RESERVE, at(3000), 30)
    saga.begin(Step.RESERVE, T0)
    assert not saga.overdue(Step.RESERVE, at(3000), None)


def test_a_late_success_after_giving_up_changes_nothing():
    saga = saga_at(Step.AUTHORIZE)
    saga.give_up(Step.AUTHORIZE, at(31), "deadline")
    before = saga.to_state(), saga.phase, saga.step
    saga.succeeded(Step.AUTHORIZE, at(32), "authorized at last")
    saga.rejected(Step.AUTHORIZE, at(32), "402")
    assert not saga.failed(Step.AUTHORIZE, at(32), "503", deadline=30)
    assert (saga.to_state(), saga.phase, saga.step) == before
    assert saga.next_compensation() is Step.AUTHORIZE  # the void still happens


def test_a_duplicate_success_does_not_move_the_saga_twice_or_back():
    saga = saga_at(Step.RESERVE)
    saga.succeeded(Step.RESERVE, at(1))
    saga.succeeded(Step.RESERVE, at(2))
    assert saga.step is Step.AUTHORIZE
    assert saga.record(Step.RESERVE).finished_at == at(1)
    saga.begin(Step.AUTHORIZE, at(3))
    saga.succeeded(Step.AUTHORIZE, at(4))
    saga.succeeded(Step.RESERVE, at(5))  # a stale reply of an earlier step
    assert saga.step is Step.SCHEDULE


def test_a_duplicate_compensation_reply_counts_once():
    saga = saga_at(Step.AUTHORIZE)
    saga.rejected(Step.AUTHORIZE, at(1), "402: declined")
    saga.compensated(Step.RESERVE, at(2), refunded=False)
    saga.compensated(Step.RESERVE, at(3), refunded=True)
    comp = saga.record(COMPENSATION[Step.RESERVE])
    assert (comp.attempts, comp.finished_at) == (1, at(2))
    assert saga.phase is Phase.CANCELLED and not saga.refunded


def test_refunded_and_version_survive_the_stored_form():
    saga = saga_at(Step.CONFIRM)
    saga.rejected(Step.CONFIRM, at(1), "409: expired", reason=Reason.EXPIRED)
    saga.compensated(Step.CAPTURE, at(2), "refunded", refunded=True)
    row = {"order_id": "o-1", "card_token": "tok_ok", "phase": saga.phase.value,
           "step": saga.step.value, "reason": saga.reason, "cancel_requested": 0,
           "version": 7}
    again = CheckoutSaga.from_row(row, saga.to_state())
    assert (again.refunded, again.version, again.reason) == (True, 7, "expired")
    assert again.records == saga.records
    assert again.next_compensation() is Step.SCHEDULE


def test_a_step_started_in_the_future_counts_its_deadline_afresh():
    """F11: orders restarted on a clock set 5 minutes back finds a step it started (by
    the old clock) in its future: the deadline counts from now, not 5 minutes late."""
    saga = saga_at(Step.AUTHORIZE)  # started at T0 = 10:00:00
    before = "2026-01-01T09:55:00Z"
    assert saga.failed(Step.AUTHORIZE, before, "503", deadline=30)
    assert saga.record(Step.AUTHORIZE).started_at == before
    assert not saga.failed(Step.AUTHORIZE, "2026-01-01T09:55:30Z", "503", deadline=30)
    assert saga.phase is Phase.COMPENSATING

"""The circuit breaker's states on a clock the test moves, the retry budget running out and
coming back, and the bulkhead refusing past its limit."""

from __future__ import annotations

from mercato.chassis.calls.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from mercato.chassis.calls.budget import RetryBudget
from mercato.chassis.calls.bulkhead import Bulkhead


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **kw) -> CircuitBreaker:
    return CircuitBreaker("payments", **{"failures": 3, "open_for": 5.0, "probes": 2, **kw},
                          clock=clock)


def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        b.record(b.admit(), False)


def test_consecutive_failures_open_the_breaker_and_a_success_resets_the_count():
    b = breaker(Clock())
    fail(b, 2)
    b.record(b.admit(), True)
    fail(b, 2)
    assert b.state == CLOSED
    fail(b, 1)
    assert b.state == OPEN
    assert b.times_opened == 1


def test_an_open_breaker_refuses_at_once_and_says_when_to_come_back():
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now += 1.2
    assert b.admit() is None
    assert b.admit() is None
    assert b.rejected == 2
    assert b.retry_after() == 4  # 3.8 s left, rounded up
    assert b.snapshot()["retry_in_s"] == 3.8


def test_half_open_lets_a_limited_number_of_probes_through():
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now += 5.0
    assert b.state == HALF_OPEN
    first, second = b.admit(), b.admit()
    assert first and second  # probe tickets
    assert b.admit() is None  # both probe slots are taken
    assert b.snapshot()["probes_in_flight"] == 2
    b.record(first, None)  # a probe that gave no verdict frees its slot
    assert b.admit()


def test_enough_successful_probes_close_the_breaker():
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now += 5.0
    b.record(b.admit(), True)
    assert b.state == HALF_OPEN
    b.record(b.admit(), True)
    assert b.state == CLOSED
    assert b.admit() == 0
    fail(b, 2)
    assert b.state == CLOSED  # the count started again from zero


def test_a_failed_probe_opens_the_breaker_again_for_a_full_period():
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now += 5.0
    ok_probe, bad_probe = b.admit(), b.admit()
    b.record(bad_probe, False)
    assert b.state == OPEN
    b.record(ok_probe, True)  # a probe of the failed round no longer counts
    assert b.state == OPEN
    clock.now += 4.9
    assert b.admit() is None
    clock.now += 0.1
    assert b.state == HALF_OPEN
    assert b.times_opened == 2


def test_calls_admitted_before_the_breaker_opened_do_not_count_when_they_end():
    clock = Clock()
    b = breaker(clock)
    early = [b.admit() for _ in range(3)]
    fail(b, 3)
    b.record(early[0], True)  # a late success does not close an open breaker
    assert b.state == OPEN
    clock.now += 5.0
    probe = b.admit()
    b.record(early[1], False)  # nor does a late failure reopen a half-open one
    assert b.state == HALF_OPEN
    b.record(probe, True)
    b.record(b.admit(), True)
    assert b.state == CLOSED


def test_the_retry_budget_allows_a_share_of_the_calls_then_refuses():
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_second=0, window=10, clock=clock)
    for _ in range(10):
        budget.deposit()
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]
    assert budget.refused == 1
    clock.now += 10.0  # the window has moved past those calls and retries
    assert budget.withdraw() is False
    for _ in range(5):
        budget.deposit()
    assert budget.withdraw() is True


def test_the_retry_budget_keeps_a_minimum_per_second_for_quiet_services():
    budget = RetryBudget(ratio=0.2, min_per_second=0.5, window=4, clock=Clock())
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]


def test_the_bulkhead_refuses_past_its_limit_and_takes_calls_again_when_one_ends():
    bulkhead = Bulkhead("shipping", 2)
    assert [bulkhead.try_enter() for _ in range(3)] == [True, True, False]
    bulkhead.leave()
    assert bulkhead.try_enter() is True
    assert bulkhead.snapshot() == {"in_flight": 2, "limit": 2, "peak": 2, "rejected": 1}

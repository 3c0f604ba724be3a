"""Balancing over the ready instances of a service: each strategy's choice and spread, the
in-flight counts that least-outstanding and p2c compare, and outlier ejection with its
return after the cool-down (on a clock the test moves)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from mercato.chassis.calls.balance import Balancer
from mercato.chassis.calls.registry import Instance


class FakeView:
    def __init__(self, *instances: Instance) -> None:
        self.instances = list(instances)

    def ready(self, service: str) -> list[Instance]:
        return [i for i in self.instances if i.service == service and i.health == "ready"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def catalog(n: int, *unready: int) -> FakeView:
    return FakeView(*(Instance("catalog", f"catalog-{k}", f"http://c{k}", "1",
                               health="unready" if k in unready else "ready")
                      for k in range(1, n + 1)))


def balancer(view: FakeView, strategy: str = "p2c", clock: Clock | None = None,
             **kw) -> Balancer:
    return Balancer(view, strategy, clock=clock or Clock(), rng=random.Random(7), **kw)


def firsts(b: Balancer, calls: int) -> Counter:
    return Counter(b.order("catalog")[0].instance_id for _ in range(calls))


def test_round_robin_takes_each_ready_instance_in_turn():
    b = balancer(catalog(3), "round_robin")
    picks = [b.order("catalog")[0].instance_id for _ in range(6)]
    assert picks == ["catalog-1", "catalog-2", "catalog-3"] * 2


def test_every_strategy_offers_the_other_ready_instances_after_the_first_for_retries():
    for strategy in ("p2c", "round_robin", "random", "least_outstanding"):
        order = balancer(catalog(3), strategy).order("catalog")
        assert sorted(i.instance_id for i in order) == ["catalog-1", "catalog-2", "catalog-3"]


@pytest.mark.parametrize("strategy", ["p2c", "round_robin", "random", "least_outstanding"])
def test_only_ready_instances_are_chosen(strategy):
    b = balancer(catalog(3, 2), strategy)
    assert set(firsts(b, 300)) == {"catalog-1", "catalog-3"}
    assert b.order("orders") == []


@pytest.mark.parametrize("strategy", ["p2c", "random"])
def test_randomised_strategies_spread_idle_calls_evenly(strategy):
    counts = firsts(balancer(catalog(3), strategy), 3000)
    assert set(counts) == {"catalog-1", "catalog-2", "catalog-3"}
    assert all(800 <= n <= 1200 for n in counts.values()), counts


def test_least_outstanding_picks_the_idle_instance():
    view = catalog(3)
    b = balancer(view, "least_outstanding")
    busy = [b.started(view.instances[0]), b.started(view.instances[0]),
            b.started(view.instances[2])]
    assert set(firsts(b, 50)) == {"catalog-2"}
    for stats in busy:
        b.finished(stats, False)
    assert set(firsts(b, 30)) == {"catalog-1", "catalog-2", "catalog-3"}  # ties take turns


def test_p2c_never_sends_to_the_busiest_of_two_and_avoids_a_loaded_instance():
    view = catalog(2)
    b = balancer(view, "p2c")
    b.started(view.instances[1])
    assert set(firsts(b, 100)) == {"catalog-1"}
    three = catalog(3)
    b = balancer(three, "p2c")
    for _ in range(4):
        b.started(three.instances[0])
    # of any two distinct instances the loaded one loses, so it is never first
    assert set(firsts(b, 600)) == {"catalog-2", "catalog-3"}


def test_in_flight_counts_follow_started_and_finished():
    view = catalog(1)
    b = balancer(view)
    first, second = b.started(view.instances[0]), b.started(view.instances[0])
    assert b.outliers.outstanding(view.instances[0]) == 2
    b.finished(first, False)
    b.finished(second, None)
    assert b.outliers.outstanding(view.instances[0]) == 0


def fail(b: Balancer, instance: Instance, times: int) -> None:
    for _ in range(times):
        b.finished(b.started(instance), True)


def test_an_instance_failing_n_times_in_a_row_is_ejected_then_returns_on_probation():
    clock, view = Clock(), catalog(3)
    b = balancer(view, "round_robin", clock, eject_after=3, eject_for=10.0)
    bad = view.instances[0]
    fail(b, bad, 2)
    b.finished(b.started(bad), False)  # a success clears the record
    fail(b, bad, 2)
    assert "catalog-1" in firsts(b, 3)
    fail(b, bad, 1)
    assert set(firsts(b, 30)) == {"catalog-2", "catalog-3"}
    clock.now += 9.9
    assert "catalog-1" not in firsts(b, 30)
    clock.now += 0.2
    assert "catalog-1" in firsts(b, 3)  # back after the cool-down
    fail(b, bad, 1)  # on probation: one failure sends it out again
    assert "catalog-1" not in firsts(b, 30)
    clock.now += 10.1
    assert "catalog-1" in firsts(b, 3)
    b.finished(b.started(bad), False)
    fail(b, bad, 2)  # cleared by the success: two failures are below the threshold again
    assert "catalog-1" in firsts(b, 3)


@pytest.mark.parametrize("strategy", ["p2c", "round_robin", "random", "least_outstanding"])
def test_with_one_of_two_instances_ejected_every_call_goes_to_the_other(strategy):
    view = catalog(2)
    b = balancer(view, strategy, eject_after=1)
    fail(b, view.instances[0], 1)
    assert [i.instance_id for i in b.order("catalog")] == ["catalog-2"]
    assert set(firsts(b, 20)) == {"catalog-2"}


def test_when_every_ready_instance_is_ejected_all_of_them_are_used():
    view = catalog(2)
    b = balancer(view, "round_robin", eject_after=1)
    fail(b, view.instances[0], 1)
    fail(b, view.instances[1], 1)
    assert set(firsts(b, 4)) == {"catalog-1", "catalog-2"}


def test_a_cancelled_attempt_says_nothing_about_the_instance():
    view = catalog(2)
    b = balancer(view, "round_robin", eject_after=2)
    fail(b, view.instances[0], 1)
    b.finished(b.started(view.instances[0]), None)
    fail(b, view.instances[0], 1)
    assert set(firsts(b, 4)) == {"catalog-2"}


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="unknown balancer"):
        Balancer(catalog(1), "fastest")

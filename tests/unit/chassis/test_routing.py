"""The deployment routing decision (docs/deployments.md): canary weights on a seeded rng,
forced canary requests, the blue-green active set, the fallback when the chosen set has no
ready instance, and the balancer narrowing its candidates by the view's policy."""

from __future__ import annotations

import random
from collections import Counter

from mercato.chassis.calls.balance import Balancer
from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.routing import Policy, RoutingView, canary_var, eligible


def inst(n: int, version: str, health: str = "ready") -> Instance:
    return Instance("catalog", f"catalog-{n}", f"http://c{n}", version, health=health)


OLD = [inst(1, "1"), inst(2, "1")]
NEW = [inst(3, "2")]
BOTH = OLD + NEW


def versions(chosen: list[Instance]) -> set[str]:
    return {i.version for i in chosen}


def test_without_a_policy_every_instance_is_eligible():
    assert eligible(BOTH, None, "", random.Random(1)) == BOTH


def test_a_canary_at_ten_percent_takes_about_one_call_in_ten_on_a_seeded_rng():
    rng, policy = random.Random(42), Policy(stable="1", canary="2", weight=10)
    seen = Counter(frozenset(versions(eligible(BOTH, policy, "", rng))) for _ in range(10_000))
    assert set(seen) == {frozenset({"1"}), frozenset({"2"})}  # never a mix
    assert 900 <= seen[frozenset({"2"})] <= 1100


def test_the_same_seed_makes_the_same_choices():
    policy = Policy(stable="1", canary="2", weight=30)
    runs = [[versions(eligible(BOTH, policy, "", rng)).pop() for _ in range(200)]
            for rng in (random.Random(5), random.Random(5))]
    assert runs[0] == runs[1]
    assert "1" in runs[0] and "2" in runs[0]


def test_x_canary_always_forces_the_canary_and_never_forces_the_stable_version():
    rng, policy = random.Random(3), Policy(stable="1", canary="2", weight=1)
    assert all(eligible(BOTH, policy, "always", rng) == NEW for _ in range(500))
    assert all(eligible(BOTH, policy, " Always ", rng) == NEW for _ in range(10))
    heavy = Policy(stable="1", canary="2", weight=99)
    assert all(eligible(BOTH, heavy, "never", rng) == OLD for _ in range(500))


def test_blue_green_uses_only_the_active_set_whatever_the_header_says():
    rng = random.Random(0)
    assert eligible(BOTH, Policy(stable="1", active="2"), "", rng) == NEW
    assert eligible(BOTH, Policy(stable="1", active="1"), "always", rng) == OLD


def test_a_set_with_no_ready_instance_falls_back_to_every_ready_instance():
    rng = random.Random(0)
    assert eligible(OLD, Policy(stable="1", canary="2", weight=10), "always", rng) == OLD
    assert eligible(NEW, Policy(stable="1", active="1"), "", rng) == NEW
    assert eligible(OLD, Policy(stable="9"), "", rng) == OLD


def test_a_policy_round_trips_through_its_json():
    policy = Policy(stable="1", canary="2", weight=15, active=None)
    assert Policy.from_json(policy.to_json()) == policy
    assert Policy.from_json(b'{"active": "3"}') == Policy(active="3")


class FakeView:
    def __init__(self, instances: list[Instance], routing: RoutingView | None) -> None:
        self.instances, self.routing = instances, routing

    def ready(self, service: str) -> list[Instance]:
        return [i for i in self.instances if i.health == "ready"]


def routing_with(policies: dict[str, Policy], seed: int = 1) -> RoutingView:
    view = RoutingView(nc=None, rng=random.Random(seed))  # not started: policies set here
    view.policies = dict(policies)
    return view


def test_the_balancer_orders_only_the_instances_the_policy_allows():
    routing = routing_with({"catalog": Policy(stable="1", active="2")})
    b = Balancer(FakeView(BOTH, routing), "round_robin", rng=random.Random(1))
    assert {i.instance_id for _ in range(6) for i in b.order("catalog")} == {"catalog-3"}
    routing.policies = {}
    assert {i.instance_id for _ in range(6) for i in b.order("catalog")} == \
        {"catalog-1", "catalog-2", "catalog-3"}


def test_the_request_s_canary_header_reaches_the_balancer_through_the_context():
    routing = routing_with({"catalog": Policy(stable="1", canary="2", weight=1)})
    b = Balancer(FakeView([*BOTH, inst(4, "2", "unready")], routing), "p2c",
                 rng=random.Random(1))
    token = canary_var.set("always")
    try:
        assert all(b.order("catalog") == NEW for _ in range(50))
    finally:
        canary_var.reset(token)
    firsts = Counter(b.order("catalog")[0].version for _ in range(1000))
    assert firsts["1"] > 950

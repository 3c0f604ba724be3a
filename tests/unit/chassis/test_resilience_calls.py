"""One call through ``Resilience`` with a fake ``send`` (no network): which failures are
retried and where, the retry budget, the breaker opening on calls nobody answered, the
bulkhead refusing at once, the timeouts each attempt gets, and in-flight counts."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

import aiohttp
import pytest

from mercato.chassis.calls.resilience import CallPolicy, Resilience, Unavailable
from tests.unit.chassis.test_balance import Clock, catalog


def refused() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="127.0.0.1", port=9, ssl=False)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


class Upstream:
    """Answers per instance from a script: a status, or an exception to raise."""

    def __init__(self, **script) -> None:
        self.script = script
        self.sent: list[tuple[str, float]] = []

    async def __call__(self, instance, timeout):
        self.sent.append((instance.instance_id, timeout.total))
        outcome = self.script.get(instance.instance_id.replace("-", "_"), 200)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def resilience(n: int = 3, clock: Clock | None = None, **policy) -> Resilience:
    policy = {"balancer": "round_robin", **policy}
    return Resilience(catalog(n), CallPolicy(**policy), clock=clock or Clock(),
                      rng=random.Random(3), sleep=Sleeps())


async def call(r: Resilience, upstream: Upstream, safe: bool = True, **kw):
    return await r.call("catalog", upstream, safe=safe, status_of=lambda s: s, **kw)


async def test_a_refused_connection_is_retried_on_the_next_instance_even_for_an_unsafe_call():
    upstream = Upstream(catalog_1=refused())
    assert await call(resilience(), upstream, safe=False) == 200
    assert [i for i, _ in upstream.sent] == ["catalog-1", "catalog-2"]


async def test_a_refused_connection_moves_on_at_once_and_needs_no_retry_budget():
    # a dead instance still listed (killed, its registry entry not yet expired) and a
    # spent budget: the call still reaches the live one, without waiting
    r = resilience(2, budget_ratio=0.0, budget_min_per_second=0.0)
    upstream = Upstream(catalog_1=refused())
    for _ in range(3):
        assert await call(r, upstream) == 200
    assert r._sleep == []
    assert r.guard("catalog").budget.snapshot()["refused"] == 0


@pytest.mark.parametrize("error", [aiohttp.ServerDisconnectedError(), TimeoutError()])
async def test_a_lost_or_timed_out_attempt_is_retried_only_when_the_call_is_safe(error):
    with pytest.raises(Unavailable, match="catalog-1"):
        await call(resilience(), Upstream(catalog_1=error), safe=False)
    upstream = Upstream(catalog_1=error)
    assert await call(resilience(), upstream, safe=True) == 200
    assert [i for i, _ in upstream.sent] == ["catalog-1", "catalog-2"]


async def test_a_5xx_answer_is_retried_on_another_instance_only_when_safe():
    upstream = Upstream(catalog_1=503)
    assert await call(resilience(), upstream, safe=False) == 503
    assert len(upstream.sent) == 1
    upstream = Upstream(catalog_1=503, catalog_2=502)
    assert await call(resilience(), upstream, safe=True) == 200
    assert [i for i, _ in upstream.sent] == ["catalog-1", "catalog-2", "catalog-3"]


async def test_when_every_instance_answers_5xx_the_last_answer_is_returned():
    upstream = Upstream(catalog_1=503)
    assert await call(resilience(1), upstream) == 503
    assert len(upstream.sent) == 1  # no other instance to ask: the same one is not asked again


async def test_attempts_are_bounded_and_wait_a_jittered_growing_backoff():
    r = resilience(1, attempts=4, backoff=0.1)
    upstream = Upstream(catalog_1=TimeoutError())
    with pytest.raises(Unavailable, match="timed out"):
        await call(r, upstream)
    assert len(upstream.sent) == 4
    sleeps = r._sleep
    assert len(sleeps) == 3
    assert all(0 <= s <= cap for s, cap in zip(sleeps, (0.1, 0.2, 0.4), strict=True))


async def test_retries_stop_when_the_retry_budget_is_spent():
    r = resilience(1, budget_ratio=0.0, budget_min_per_second=0.2)  # 2 retries per 10 s
    upstream = Upstream(catalog_1=TimeoutError())
    with pytest.raises(Unavailable):
        await call(r, upstream)
    with pytest.raises(Unavailable, match="retry budget is spent"):
        await call(r, upstream)
    assert len(upstream.sent) == 3 + 1
    assert r.guard("catalog").budget.snapshot()["refused"] == 1


async def test_the_breaker_opens_on_calls_that_got_no_answer_and_then_fails_fast():
    clock = Clock()
    r = resilience(2, clock, breaker_failures=2, breaker_open_for=3.0, attempts=1)
    down = Upstream(catalog_1=refused(), catalog_2=refused())
    for _ in range(2):
        with pytest.raises(Unavailable):
            await call(r, down)
    with pytest.raises(Unavailable, match="circuit breaker is open") as refusal:
        await call(r, down)
    assert refusal.value.retry_after == 3
    assert len(down.sent) == 2  # the refused call sent nothing
    clock.now += 3.0
    up = Upstream()
    assert [await call(r, up), await call(r, up)] == [200, 200]  # two probes close it
    assert r.guard("catalog").breaker.state == "closed"


async def test_5xx_answers_do_not_open_the_breaker_but_eject_the_instance():
    r = resilience(2, breaker_failures=2, eject_after=2, attempts=1)
    upstream = Upstream(catalog_1=500)
    for _ in range(4):
        await call(r, upstream)
    assert r.guard("catalog").breaker.state == "closed"
    upstream.sent.clear()
    for _ in range(4):
        await call(r, upstream)
    assert {i for i, _ in upstream.sent} == {"catalog-2"}
    snapshot = r.snapshot()[0]
    assert [i["ejected"] for i in snapshot["instances"]] == [True, False]


async def test_a_full_bulkhead_refuses_at_once_without_sending():
    r = resilience(1, bulkhead_limit=2)
    gate = asyncio.Event()

    async def slow(instance, timeout):
        await gate.wait()
        return 200

    held = [asyncio.create_task(r.call("catalog", slow, safe=True, status_of=lambda s: s))
            for _ in range(2)]
    await asyncio.sleep(0)
    upstream = Upstream()
    with pytest.raises(Unavailable, match="bulkhead is full") as refusal:
        await call(r, upstream)
    assert refusal.value.retry_after == 1
    assert upstream.sent == []
    assert r.balancer.outliers.outstanding(r.balancer.order("catalog")[0]) == 2
    gate.set()
    assert await asyncio.gather(*held) == [200, 200]
    assert await call(r, upstream) == 200
    assert r.guard("catalog").bulkhead.in_flight == 0


async def test_each_attempt_gets_its_timeout_capped_by_what_is_left_of_the_call():
    clock = Clock()
    r = resilience(2, clock, total_timeout=3.0, attempt_timeout=2.0)

    async def slow_then_ok(instance, timeout):
        clock.now += timeout.total
        if instance.instance_id == "catalog-1":
            raise TimeoutError
        return 200

    seen = []

    async def recording(instance, timeout):
        seen.append(timeout.total)
        return await slow_then_ok(instance, timeout)

    assert await r.call("catalog", recording, safe=True, status_of=lambda s: s) == 200
    assert seen == [2.0, 1.0]  # the second attempt has what is left of the 3 s
    seen.clear()
    assert await r.call("catalog", recording, safe=True, status_of=lambda s: s,
                        timeout=0.5) == 200
    assert seen == [0.5]  # catalog-2's turn; a caller's own timeout bounds the call


async def test_no_ready_instance_is_unavailable_and_leaves_the_breaker_alone():
    r = resilience(0, breaker_failures=1)
    for _ in range(3):
        with pytest.raises(Unavailable, match="no ready instance is registered"):
            await call(r, Upstream())
    assert r.guard("catalog").breaker.state == "closed"

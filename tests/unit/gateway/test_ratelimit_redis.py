"""Buckets in Redis: shared by two limiters (two gateway replicas), kept under keys that
expire once full again, on Redis's own clock; and a Redis that does not answer lets
requests through (fail open) with one warning, not one per request."""

from __future__ import annotations

import socket

import pytest
from structlog.testing import capture_logs

from mercato.gateway.ratelimit import RateLimiter, RateLimitSettings
from mercato.gateway.ratelimit_redis import RedisBuckets
from tests.support.redis_server import REDIS_URL
from tests.unit.gateway.test_ratelimit import outcome
from tests.unit.gateway.test_ratelimit_support import Clock, RedisPrefix, limiter


@pytest.fixture
def prefix():
    p = RedisPrefix()
    yield p
    p.clean()


async def test_two_limiters_on_one_redis_share_one_limit(prefix):
    clock = Clock()
    one = limiter("redis", clock, prefix, rate_limit_per_client="1/min burst 3")
    two = limiter("redis", clock, prefix, rate_limit_per_client="1/min burst 3")
    assert [await outcome(one), await outcome(two), await outcome(one)] == ["ok"] * 3
    assert await outcome(two) == "429 retry 60 per client address"
    assert await outcome(one) == "429 retry 60 per client address"
    clock.advance(60)
    assert await outcome(two) == "ok"
    assert await outcome(one) == "429 retry 60 per client address"
    await one.close()
    await two.close()


async def test_bucket_keys_expire_when_the_bucket_would_be_full_again(prefix):
    limits = limiter("redis", Clock(), prefix, rate_limit_per_client="2/s burst 10",
                     rate_limit_per_user="1/min burst 1")
    assert await outcome(limits) == "ok"
    assert prefix.keys() == [prefix.prefix + "a:10.0.0.1", prefix.prefix + "c:10.0.0.1"]
    # per client: 1 token short of 10 at 2/s -> full in 0.5 s (+1 s margin);
    # per user: 1 short of 1 at 1/min -> 60 s (+1 s).
    ttl = {k.removeprefix(prefix.prefix): prefix.client.pttl(k) for k in prefix.keys()}
    assert 0 < ttl["c:10.0.0.1"] <= 1_500
    assert 60_000 < ttl["a:10.0.0.1"] <= 61_000
    await limits.close()


async def test_without_a_test_clock_the_script_uses_redis_time(prefix):
    settings = RateLimitSettings(rate_limit_per_client="1/h burst 2", rate_limit_per_user="off")
    limits = RateLimiter(settings, redis=RedisBuckets(REDIS_URL, prefix=prefix.prefix))
    assert [await outcome(limits) for _ in range(3)][:2] == ["ok", "ok"]
    refused = await outcome(limits)
    assert refused.startswith("429 retry ")
    assert 3_500 <= int(refused.split()[2]) <= 3_600
    await limits.close()


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


async def test_an_unreachable_redis_fails_open_and_warns_once_per_interval():
    settings = RateLimitSettings(rate_limit_per_client="1/min burst 1", rate_limit_per_user="off")
    monotonic = Clock()
    buckets = RedisBuckets(f"redis://127.0.0.1:{dead_port()}/0", timeout=0.5, pause=1.0,
                           log_every=10.0, monotonic=monotonic)
    limits = RateLimiter(settings, redis=buckets)
    with capture_logs() as logs:
        assert [await outcome(limits) for _ in range(5)] == ["ok"] * 5
        monotonic.advance(10)
        assert await outcome(limits) == "ok"
    warnings = [e for e in logs if e["event"] == "rate_limit_redis_unavailable"]
    assert len(warnings) == 2
    assert "ConnectionError" in warnings[0]["error"]
    assert warnings[1]["let_through"] == 5  # the four after the first warning, and this one
    await limits.close()

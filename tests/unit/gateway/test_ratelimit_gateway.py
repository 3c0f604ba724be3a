"""The limiter in the gateway's request path: a 429 problem+json with Retry-After that
never reaches the service, the caller known by token or by address, bad tokens counted,
health checks never limited; and the limiter built from MERCATO_* settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mercato.chassis.calls.registry import Instance
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from mercato.gateway.policy import ROUTED_SERVICES
from mercato.gateway.ratelimit import RateLimiter, RateLimitSettings
from tests.support.service_http import WORKLOAD_KEYS, client
from tests.unit.gateway.test_gateway import CUSTOMER, FakeAuth, FakeView, RecordingUpstreams
from tests.unit.gateway.test_ratelimit_support import Clock, limiter

ME = "/api/v1/identity/users/me"


@pytest.fixture
def gateway(tmp_path):
    runtime = Runtime("gateway", load_settings(data_dir=tmp_path),
                      make_instance("gateway", 1, "http://gw", "1"))
    runtime.identity = WORKLOAD_KEYS.identity("gateway")
    gw = Gateway(runtime)
    view = FakeView(Instance("catalog", "catalog-1", "http://c", "1", health="ready"),
                    Instance("identity", "identity-1", "http://i", "1", health="ready"))
    runtime.view = view
    gw.upstreams = RecordingUpstreams(view)
    gw.auth = FakeAuth(customer=CUSTOMER)
    gw.limits = limiter("process", Clock(), rate_limit_per_client="1/min burst 4",
                        rate_limit_per_user="1/min burst 2")
    return gw


async def test_over_the_limit_is_a_429_problem_with_retry_after_and_no_upstream_call(gateway):
    async with client(gateway) as c:
        answers = [await c.get("/api/v1/catalog/products") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "60"
    assert refused.json()["status"] == 429
    assert refused.json()["title"] == "Too Many Requests"
    assert refused.json()["detail"] == (
        "rate limit per user (1/min burst 2) exceeded; retry in 60 s")
    assert len(gateway.upstreams.calls) == 2


async def test_a_signed_in_user_is_limited_by_subject_not_by_address(gateway):
    auth = {"Authorization": "Bearer customer"}
    async with client(gateway) as c:
        anonymous = [(await c.get("/api/v1/catalog/products")).status_code for _ in range(2)]
        signed_in = [(await c.get(ME, headers=auth)).status_code for _ in range(3)]
    assert anonymous == [200, 200]  # the anonymous bucket of 127.0.0.1 is now empty
    assert signed_in == [200, 200, 429]  # the user's own bucket, then the user's limit


async def test_requests_with_bad_tokens_count_against_their_address(gateway):
    bad = {"Authorization": "Bearer forged"}
    async with client(gateway) as c:
        statuses = [(await c.get(ME, headers=bad)).status_code for _ in range(5)]
        public = await c.get("/api/v1/catalog/products")
    assert statuses == [401, 401, 429, 429, 429]
    assert public.status_code == 429
    assert gateway.upstreams.calls == []


async def test_health_and_metrics_are_never_limited(gateway):
    gateway.runtime.is_ready = _ready
    gateway.runtime.view = FakeView(*(Instance(s, f"{s}-1", f"http://{s}", "1", health="ready")
                                      for s in ROUTED_SERVICES))  # ready: all can be routed
    async with client(gateway) as c:
        statuses = {(await c.get(p)).status_code for _ in range(10)
                    for p in ("/health/live", "/health/ready", "/metrics")}
    assert statuses == {200}


async def _ready() -> bool:
    return True


def test_the_limiter_reads_its_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("MERCATO_RATE_LIMIT_PER_CLIENT", "50/s burst 100")
    monkeypatch.setenv("MERCATO_RATE_LIMIT_PER_USER", "off")
    monkeypatch.setenv("MERCATO_LOGIN_RATE_LIMIT", "5/min")
    monkeypatch.delenv("MERCATO_REDIS_URL", raising=False)
    limits = RateLimiter.from_env()
    assert limits.describe() == {"per_client": "50/s burst 100", "per_user": "off",
                                 "login": "5/min", "login_per_email": "30/min burst 30",
                                 "store": "process"}
    assert (limits.per_client.rate, limits.per_client.burst) == (50, 100)
    assert (limits.login.rate, limits.login.burst) == (5 / 60, 5)
    monkeypatch.setenv("MERCATO_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert RateLimiter.from_env().describe()["store"] == "redis"


@pytest.mark.parametrize("text", ["50 per second", "50/fortnight", "0/s", "5/s burst 0", "/s"])
def test_a_malformed_limit_is_refused_at_start(monkeypatch, text):
    monkeypatch.setenv("MERCATO_RATE_LIMIT_PER_USER", text)
    with pytest.raises(ValidationError, match="rate limit"):
        RateLimitSettings()


def test_the_defaults_leave_room_for_the_platforms_own_benchmarks(monkeypatch):
    """bench_gateway drives ~1.4k req/s from 127.0.0.1 with one admin token, and
    bench_checkout signs in its customers (20 by default) at once."""
    for name in ("PER_CLIENT", "PER_USER"):
        monkeypatch.delenv(f"MERCATO_RATE_LIMIT_{name}", raising=False)
    monkeypatch.delenv("MERCATO_LOGIN_RATE_LIMIT", raising=False)
    limits = RateLimiter(RateLimitSettings())
    assert limits.per_client.rate >= 3 * 1_400 and limits.per_user.rate >= 1_400
    assert limits.login.burst >= 100

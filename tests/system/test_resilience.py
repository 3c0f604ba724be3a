"""The gateway's circuit breaker on a whole platform: payments frozen (SIGSTOP) stops
answering, the breaker for it opens after its threshold and calls fail fast with a 503 and
Retry-After; once payments runs again (SIGCONT) the half-open probes close it."""

from __future__ import annotations

import os
import signal

import pytest

from tests.system.platform import Platform, make_platform, wait_for

FAILURES, OPEN_SECONDS, PROBES = 3, 2, 2


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    # A frozen payments keeps its registry entry for the whole test (TTL 60 s), and each
    # call to it gives up after 3 s; identity's password hashing fits in that on a busy box.
    p = make_platform(tmp_path_factory.mktemp("resilience"), MERCATO_REGISTRY_TTL="60",
                      MERCATO_CALL_TIMEOUT="3.0", MERCATO_BREAKER_FAILURES=str(FAILURES),
                      MERCATO_BREAKER_OPEN_SECONDS=str(OPEN_SECONDS),
                      MERCATO_BREAKER_PROBES=str(PROBES))
    p.start()
    yield p
    assert p.stop() == 0


def payments_guard(p: Platform) -> dict:
    guard = p.proxy_guard("payments")
    assert guard is not None, "the gateway has no guard for payments"
    return guard


def test_a_frozen_service_opens_its_breaker_then_probes_close_it(platform: Platform):
    token, _ = platform.new_customer()
    customer = platform.client(token)
    listing = "/api/v1/payments?order_id=no-such-order"  # an empty list, from payments
    assert customer.get(listing).status_code == 200
    assert payments_guard(platform)["breaker"]["state"] == "closed"
    pid = platform.pid_of("payments")
    os.kill(pid, signal.SIGSTOP)
    try:
        timed_out = [customer.get(listing) for _ in range(FAILURES)]
        assert [r.status_code for r in timed_out] == [503] * FAILURES
        assert all("timed out" in r.json()["detail"] for r in timed_out)
        opened = payments_guard(platform)
        assert opened["breaker"]["state"] == "open"
        assert opened["breaker"]["times_opened"] == 1

        refused = customer.get(listing)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert "circuit breaker is open" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= OPEN_SECONDS
        assert payments_guard(platform)["breaker"]["rejected"] >= 1
    finally:
        os.kill(pid, signal.SIGCONT)

    half_open = wait_for(
        lambda: (b := payments_guard(platform))["breaker"]["state"] == "half_open" and b,
        OPEN_SECONDS + 10, "the breaker to let probes through")
    assert half_open["breaker"]["probes_in_flight"] == 0
    assert customer.get(listing).status_code == 200  # the first probe
    after_one = payments_guard(platform)["breaker"]
    assert (after_one["state"], after_one["probe_successes"]) == ("half_open", 1)
    assert customer.get(listing).status_code == 200  # the second probe closes it
    closed = payments_guard(platform)["breaker"]
    assert (closed["state"], closed["consecutive_failures"]) == ("closed", 0)
    assert customer.get(listing).status_code == 200
    customer.close()


def test_the_breakers_route_is_for_admins_only(platform: Platform):
    token, _ = platform.new_customer()
    with platform.client(token) as c:
        assert c.get("/api/v1/ops/breakers").status_code == 403
    with platform.client() as c:
        assert c.get("/api/v1/ops/breakers").status_code == 401

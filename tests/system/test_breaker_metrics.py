"""A frozen service (SIGSTOP) shows in the gateway's metrics: after the breaker's
threshold of calls that got no answer, ``mercato_breaker_state`` for it is 2 (open) on the
gateway's /metrics, found through the targets Prometheus would scrape. The freeze is
shorter than the supervisor's liveness checks take to restart a hung process (three missed
checks, 2 s apart)."""

from __future__ import annotations

import contextlib
import os
import signal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.system.platform import Platform, make_platform

FAILURES = 2


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    p = make_platform(tmp_path_factory.mktemp("breaker-metrics"), MERCATO_REGISTRY_TTL="60",
                      MERCATO_CALL_TIMEOUT="1.5", MERCATO_BREAKER_FAILURES=str(FAILURES),
                      MERCATO_BREAKER_OPEN_SECONDS="60")
    p.start()
    yield p
    assert p.stop() == 0


def breaker_states(p: Platform, gateway: str) -> dict[tuple[str, str], float]:
    r = httpx.get(f"http://{gateway}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return {(s.labels["mercato_upstream_service"], s.labels["mercato_call_scope"]): s.value
            for f in text_string_to_metric_families(r.text) for s in f.samples
            if s.name == "mercato_breaker_state"}


def test_a_frozen_service_shows_its_breaker_open_on_the_gateways_metrics(platform: Platform):
    with platform.client(platform.admin_token()) as c:
        groups = c.get("/api/v1/ops/prometheus-targets").json()
    [gateway] = [g["targets"][0] for g in groups if g["labels"]["service"] == "gateway"]
    listing = "/api/v1/catalog/products?limit=1"  # public, and safe to retry
    with platform.client() as c:
        assert c.get(listing).status_code == 200
        assert breaker_states(platform, gateway)[("catalog", "proxy")] == 0
        pid = platform.pid_of("catalog")
        os.kill(pid, signal.SIGSTOP)
        try:
            statuses = [c.get(listing).status_code for _ in range(FAILURES)]
            states = breaker_states(platform, gateway)
        finally:
            with contextlib.suppress(ProcessLookupError):  # restarted meanwhile
                os.kill(pid, signal.SIGCONT)
    assert statuses == [503] * FAILURES
    assert states[("catalog", "proxy")] == 2
    assert states[("identity", "client")] == 0  # the gateway's own calls (keys) are apart

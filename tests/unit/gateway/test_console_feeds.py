"""The console's live numbers and lists, decided without a broker: the metrics sampler's
points from the gateway's histogram and orders' checkout counters, the event feed's query
and items, and the deployments table."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.routing import Policy
from mercato.gateway.errors import Reply
from mercato.gateway.events_feed import event_item, matches, parse_query
from mercato.gateway.metrics_sampler import MetricsSampler, quantile
from mercato.gateway.release import routing_table

CHECKOUTS = """# TYPE mercato_checkouts_total counter
mercato_checkouts_total{outcome="confirmed",reason="",mode="orchestration"} %d
mercato_checkouts_total{outcome="cancelled",reason="payment_declined",mode="orchestration"} %d
"""


def test_p95_interpolates_within_its_bucket_as_prometheus_does():
    assert quantile(0.95, {0.01: 0, 0.1: 100, float("inf"): 100}) == pytest.approx(0.0955)
    assert quantile(0.95, {0.01: 0, float("inf"): 0}) is None


async def test_the_sampler_turns_counters_into_rates_p95_and_checkouts_per_interval():
    registry = CollectorRegistry()
    duration = Histogram("http_server_request_duration_seconds", "d",
                         ["http_request_method", "http_route", "http_response_status_code",
                          "mercato_upstream_service"], buckets=(0.01, 0.1, 1.0),
                         registry=registry)
    now, totals = [1000.0], {"confirmed": 3, "cancelled": 1}
    orders = Instance("orders", "orders-1", "http://o1", "1")

    async def fetch(url: str) -> str:
        assert url == "http://o1/metrics"
        return CHECKOUTS % (totals["confirmed"], totals["cancelled"])

    sampler = MetricsSampler(lambda: [orders], registry=registry, clock=lambda: now[0],
                             fetch=fetch, keep=3)
    await sampler.sample()  # the baseline: no point yet, past checkouts not counted
    for _ in range(8):
        duration.labels("GET", "/api/v1/catalog/*", "200", "catalog").observe(0.05)
    for _ in range(2):
        duration.labels("GET", "/api/v1/catalog/*", "503", "catalog").observe(0.5)
    totals["confirmed"] += 2
    now[0] += 5
    await sampler.sample()
    (point,) = sampler.series()["points"]
    assert point["services"]["catalog"]["rps"] == 2.0
    assert point["services"]["catalog"]["errors"] == 0.4
    assert 100 < point["services"]["catalog"]["p95_ms"] <= 1000
    assert point["checkouts"] == {"cancelled": 0, "confirmed": 2}
    for _ in range(4):
        now[0] += 5
        await sampler.sample()
    assert len(sampler.series()["points"]) == 3  # the ring buffer keeps the newest


def test_the_event_feed_query_names_a_bad_parameter():
    assert parse_query(b"type=OrderPlaced&limit=5") == {
        "event_type": "OrderPlaced", "order_id": None, "limit": 5}
    for bad in (b"limit=0", b"type=a.b", b"order_id=%20x%20y", b"colour=red"):
        with pytest.raises(Reply) as refused:
            parse_query(bad)
        assert refused.value.status == 400


def test_an_event_is_found_by_the_order_it_names():
    item = event_item("MERCATO_PAYMENTS", 4, "mercato.payments.PaymentCaptured",
                      b'{"id": "e1", "type": "PaymentCaptured", "source": "payments",'
                      b' "occurred_at": "t", "payload": {"order_id": "o-1", "amount": 5}}')
    assert item["order_id"] == "o-1" and item["seq"] == 4
    assert matches(item, "o-1") and matches(item, None) and not matches(item, "o-2")
    placed = event_item("MERCATO_ORDERS", 1, "s", b'{"id": "e2", "type": "OrderPlaced",'
                        b' "source": "orders", "occurred_at": "t", "payload": {"id": "o-9"}}')
    assert placed["order_id"] == "o-9"
    assert event_item("MERCATO_ORDERS", 2, "s", b"not json") is None


def test_the_deployments_table_shows_versions_policy_and_what_is_in_progress():
    instances = [Instance("catalog", "catalog-1", "a", "1", "ready"),
                 Instance("catalog", "catalog-3", "b", "2", "ready"),
                 Instance("orders", "orders-1", "c", "1", "ready")]
    state = {"catalog": {"strategy": "canary", "version": "2", "old_version": "1"}}
    rows = {r["service"]: r for r in routing_table(
        instances, {"catalog": Policy(stable="1", canary="2", weight=10)}, state)}
    assert rows["catalog"]["versions"] == {"1": 1, "2": 1}
    assert rows["catalog"]["policy"]["weight"] == 10
    assert rows["catalog"]["in_progress"]["strategy"] == "canary"
    assert rows["orders"]["policy"] is None and rows["orders"]["in_progress"] is None
    assert rows["payments"]["versions"] == {}

"""The figures of a run: percentiles, counters, error kinds and the snapshot."""

from __future__ import annotations

import pytest

from mercato.load.stats import PLACE, TO_CONFIRMED, Stats, error_kind, percentile


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_error_kinds_name_the_status_or_the_exception():
    assert error_kind(429) == "rate-limited"
    assert error_kind(503) == "503"
    assert error_kind(exc=TimeoutError()) == "TimeoutError"
    assert error_kind(exc=ConnectionResetError()) == "ConnectionResetError"


def test_requests_are_counted_with_their_errors_and_failed_ones_timed_too():
    stats = Stats()
    stats.request(PLACE, 0.010, status=202)
    stats.request(PLACE, 0.030, status=202)
    stats.request(PLACE, 5.0, status=503, ok=False)
    stats.request("GET /x", 0.001, status=429, ok=False)
    stats.request("GET /x", 0.002, status=429, ok=False)
    stats.request("GET /x", 10.0, exc=TimeoutError(), ok=False)
    snap = stats.snapshot(elapsed=2.0)
    assert snap["requests"] == 6 and snap["ok_requests"] == 2
    assert snap["requests_per_s"] == 3.0
    assert snap["errors"] == {"503": 1, "TimeoutError": 1, "rate-limited": 2}
    assert snap["error_count"] == 4
    # the 503 took 5 s: the shopper waited that long, so it is in the percentiles
    assert snap["latency_ms"][PLACE] == {"count": 3, "p50": 30.0, "p95": 5000.0,
                                         "p99": 5000.0}


def test_orders_are_counted_by_their_end():
    stats = Stats()
    stats.placed = 5
    stats.order_ended("confirmed", None, 0.25)
    stats.order_ended("shipped", None, 0.5)  # confirmed, then moved on
    stats.order_ended("cancelled", "payment_declined", 0.3)
    stats.order_ended("cancelled", "payment_declined", 0.3)
    stats.order_ended("cancelled", None, 0.3)
    snap = stats.snapshot(1.0)["orders"]
    assert snap["placed"] == 5 and snap["confirmed"] == 2
    assert snap["cancelled"] == {"payment_declined": 2, "unknown": 1}
    assert snap["cancelled_total"] == 3
    assert stats.snapshot(1.0)["latency_ms"][TO_CONFIRMED]["p50"] == 250.0


def test_an_empty_run_has_no_percentiles_and_no_rate():
    snap = Stats().snapshot(0.0)
    assert snap["requests_per_s"] == 0.0
    assert snap["latency_ms"][PLACE] == {"count": 0, "p50": None, "p95": None, "p99": None}
    assert snap["sessions"]["dropped"] == 0

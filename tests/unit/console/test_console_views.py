"""What the console shows, decided without a page: the trace waterfall, the saga timeline,
the charts, the gateway's view of each instance, the audit's words, the stock form's
checks."""

from __future__ import annotations

from mercato.console.audit import describe
from mercato.console.charts import chart, nice_top, platform_charts
from mercato.console.deployments import describe as routing_words
from mercato.console.saga import best_trace, timeline
from mercato.console.services import instance_rows
from mercato.console.stock import check_adjustment
from mercato.console.waterfall import waterfall

MS = 1_000_000


def span(sid, parent, start, end, name="s", service="orders", error=False):
    return {"span_id": sid, "parent_span_id": parent, "name": name, "service": service,
            "start_unix_nano": start * MS, "end_unix_nano": end * MS,
            "status": {"code": "error" if error else "unset"}}


def test_the_waterfall_nests_spans_places_bars_and_marks_the_slowest_and_errors():
    spans = [span("c", "a", 10, 20, "child"), span("a", "", 0, 100, "root", "gateway"),
             span("d", "a", 30, 90, "slow", "payments"), span("e", "d", 40, 50, "bad",
                                                               error=True)]
    rows, total = waterfall(spans)
    assert total == 100
    assert [(r.depth, r.name) for r in rows] == [(0, "root"), (1, "child"), (1, "slow"),
                                                 (2, "bad")]
    slow = rows[2]
    assert slow.slowest and slow.x == 300 and slow.width == 600 and slow.ms == 60
    assert rows[3].error and not rows[3].slowest
    assert waterfall([]) == ([], 0.0)


def test_an_orphan_span_is_a_root_and_a_bar_is_never_too_thin_to_see():
    rows, _ = waterfall([span("a", "", 0, 1000), span("b", "gone", 500, 500)])
    assert [r.depth for r in rows] == [0, 0]
    assert rows[1].width == 2


def test_the_saga_timeline_shows_retries_compensations_and_durations():
    saga = {"phase": "cancelled", "steps": [
        {"name": "reserve_stock", "state": "compensated", "attempts": 1, "failures": 0,
         "started_at": "2026-12-05T10:00:00Z", "finished_at": "2026-12-05T10:00:00.100Z"},
        {"name": "authorize_payment", "state": "rejected", "attempts": 3, "failures": 2,
         "started_at": "2026-12-05T10:00:00.100Z",
         "finished_at": "2026-12-05T10:00:00.900Z", "detail": "declined"},
        {"name": "release_stock", "state": "done", "attempts": 1, "failures": 0,
         "started_at": "2026-12-05T10:00:00.900Z", "finished_at": "2026-12-05T10:00:01Z"}]}
    rows, total = timeline(saga)
    assert total == 1000
    reserve, authorize, release = rows
    assert reserve.state == "compensated" and reserve.ms == 100 and not reserve.compensation
    assert authorize.retries == 2 and authorize.state == "rejected" and authorize.x == 100
    assert release.compensation and release.x == 900 and release.width == 100
    assert timeline({"steps": []}) == ([], 0.0)


def test_the_trace_drawn_for_an_order_is_the_one_its_placement_started():
    traces = [{"trace_id": "1", "root_name": "GET /api/v1/orders/*", "span_count": 90},
              {"trace_id": "2", "root_name": "POST /api/v1/orders/*", "span_count": 40}]
    assert best_trace(traces)["trace_id"] == "2"
    assert best_trace(traces[:1])["trace_id"] == "1"
    assert best_trace([]) is None


def test_charts_scale_to_a_round_top_and_leave_gaps():
    assert [nice_top(v) for v in (0, 0.3, 1, 7, 12, 480)] == [1, 0.5, 1, 10, 20, 500]
    drawn = chart("rps", "req/s", [0, 5, 10], {"a": [0.0, None, 4.0], "b": [None] * 3})
    assert drawn.top == 5 and [line.name for line in drawn.lines] == ["a"]
    assert drawn.lines[0].points.count(",") == 2 and drawn.lines[0].last == 4.0
    points = [{"at": 0, "services": {"catalog": {"rps": 1, "errors": 0, "p95_ms": 4}},
               "checkouts": {}},
              {"at": 5, "services": {"catalog": {"rps": 2, "errors": 0, "p95_ms": 6}},
               "checkouts": {"confirmed": 2}}]
    rps, errors, p95, checkouts = platform_charts(points)
    assert p95.top == 10
    assert [line.name for line in rps.lines] == ["catalog"] and errors.empty
    assert {line.name for line in checkouts.lines} == {"cancelled", "confirmed"}


def test_each_instance_shows_the_gateways_in_flight_and_breaker_for_it():
    instances = [{"service": "catalog", "instance_id": "c1", "last_heartbeat": 95.0},
                 {"service": "orders", "instance_id": "o1", "last_heartbeat": 99.0}]
    breakers = [{"scope": "proxy", "service": "catalog", "breaker": {"state": "open"},
                 "instances": [{"instance_id": "c1", "outstanding": 3, "ejected": True}]},
                {"scope": "client", "service": "orders", "breaker": {"state": "closed"},
                 "instances": []}]
    catalog, orders = instance_rows(instances, breakers, now=100.0)
    assert (catalog["in_flight"], catalog["ejected"], catalog["breaker"]) == (3, True, "open")
    assert catalog["age_s"] == 5.0
    assert orders["in_flight"] is None and orders["breaker"] is None  # not proxied yet


def test_audit_entries_and_routing_policies_read_as_words():
    assert describe({"method": "POST", "path": "/api/v1/ops/dead-letters/7/replay"}) == (
        "Replayed dead letter 7")
    assert describe({"method": "POST", "path": "/api/v1/ops/deployments/catalog/promote"}) \
        == "Promote the deployment of catalog"
    assert describe({"method": "POST", "path": "/api/v1/catalog/products"}) == (
        "Created a product")
    assert describe({"method": "CLI", "path": "mercato keys rotate"}) == (
        "Rotated the signing keys")
    assert describe({"method": "CLI", "path": "mercato dlq replay 12"}) == (
        "Replayed dead letter 12")
    assert describe({"method": "CLI", "path": "mercato rollback orders"}) == (
        "Rollback the deployment of orders")
    assert describe({"method": "CLI", "path": "mercato other"}) == "mercato other"
    assert routing_words(None) == "every ready instance"
    assert routing_words({"stable": "1", "canary": "2", "weight": 10, "active": None}) == (
        "canary: 10% to 2, the rest to 1")
    assert routing_words({"stable": "1", "canary": None, "weight": 0, "active": "2"}) \
        .startswith("blue-green: all traffic to 2")


def test_a_stock_adjustment_needs_a_whole_non_zero_number_and_a_reason():
    assert check_adjustment("5", "delivery") == {}
    assert check_adjustment("-3", "breakage") == {}
    assert set(check_adjustment("0", "")) == {"delta", "reason"}
    assert set(check_adjustment("2.5", "x")) == {"delta"}

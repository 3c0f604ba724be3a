"""The store: trace summaries kept right as spans arrive from several processes, the
bound on traces and bytes, and the queries."""

from __future__ import annotations

import pytest

from mercato.tracestore import TraceStore
from mercato.tracestore.queries import BadQuery, TraceFilter, get_trace, list_traces, parse_filter
from tests.unit.tracestore.conftest import SECOND, export, ingest, span, tid


def test_a_trace_summary_is_updated_as_its_spans_arrive_from_several_processes(store):
    # the services' spans arrive first: the root is the earliest span with no parent here
    ingest(store, export("orders", span(1, 3, parent=2, name="reserve", start=0.02, ms=30)))
    ingest(store, export("inventory", span(1, 4, parent=3, name="consume", start=0.03, ms=5,
                                           error=True)))
    (item,) = list_traces(store.db, TraceFilter())
    assert (item["root_service"], item["root_name"], item["span_count"]) == (
        "orders", "reserve", 2)
    assert item["error"] is True
    # then the gateway's server span, the true root, which began first and ended last
    ingest(store, export("gateway", span(1, 1, name="POST /api/v1/orders", ms=100),
                         span(1, 2, parent=1, name="orders attempt", start=0.01, ms=80)))
    (item,) = list_traces(store.db, TraceFilter())
    assert item["root_service"] == "gateway" and item["root_name"] == "POST /api/v1/orders"
    assert item["span_count"] == 4
    assert item["services"] == ["gateway", "inventory", "orders"]
    assert item["duration_ms"] == 100.0
    assert item["start_unix_nano"] == 1_700_000_000 * SECOND


def test_a_span_exported_twice_counts_once(store):
    request = export("cart", span(2, 1, ms=5))
    ingest(store, request)
    ingest(store, request)
    assert list_traces(store.db, TraceFilter())[0]["span_count"] == 1
    assert len(get_trace(store.db, tid(2))) == 1


def test_past_max_traces_the_oldest_traces_are_dropped_with_all_their_rows(tmp_path):
    store = TraceStore(tmp_path / "t.db", max_traces=3, max_bytes=2**30)
    store.open()
    try:
        for n in range(1, 6):  # trace n starts n seconds in; 1 and 2 are the oldest
            ingest(store, export("catalog", span(n, 1, start=n, attrs={
                "mercato.order_id": f"order-{n}"})))
        items = list_traces(store.db, TraceFilter())
        assert [i["trace_id"] for i in items] == [tid(5), tid(4), tid(3)]
        assert store.trace_count == 3
        assert get_trace(store.db, tid(1)) is None
        assert list_traces(store.db, TraceFilter(order_id="order-2")) == []
        left = store.db.execute("SELECT count(*) FROM spans").fetchone()[0]
        assert left == 3
    finally:
        store.close()


def test_past_max_bytes_the_oldest_traces_are_dropped(tmp_path):
    store = TraceStore(tmp_path / "t.db", max_traces=10_000, max_bytes=300_000)
    store.open()
    try:
        big = "x" * 2000
        for n in range(1, 201):
            ingest(store, export("catalog", *(span(n, s, start=n, attrs={"blob": big})
                                              for s in range(1, 6))))
        assert store.used_bytes() <= 300_000 + 60_000  # within about one export of it
        remaining = [i["trace_id"] for i in list_traces(store.db, TraceFilter(limit=200))]
        assert tid(200) in remaining and tid(1) not in remaining
        assert len(remaining) < 200
    finally:
        store.close()


def test_the_bound_holds_across_a_restart(tmp_path):
    path = tmp_path / "t.db"
    first = TraceStore(path, max_traces=2, max_bytes=2**30)
    first.open()
    ingest(first, export("cart", span(1, 1, start=1), span(2, 1, start=2)))
    first.close()
    again = TraceStore(path, max_traces=2, max_bytes=2**30)
    again.open()
    try:
        ingest(again, export("cart", span(3, 1, start=3)))
        assert [i["trace_id"] for i in list_traces(again.db, TraceFilter())] == [tid(3), tid(2)]
    finally:
        again.close()


@pytest.fixture
def three_traces(store):
    ingest(store, export("gateway", span(1, 1, start=1, ms=50, attrs={
        "mercato.order_id": "ord-a"})))
    ingest(store, export("orders", span(2, 1, start=2, ms=500, error=True, attrs={
        "mercato.order_id": "ord-b"})))
    ingest(store, export("gateway", span(3, 1, start=3, ms=5)))
    ingest(store, export("payments", span(3, 2, parent=1, start=3.001, ms=2, attrs={
        "mercato.order_id": "ord-c"})))
    return store


@pytest.mark.parametrize(("f", "expected"), [
    (TraceFilter(), [3, 2, 1]),
    (TraceFilter(limit=2), [3, 2]),
    (TraceFilter(order_id="ord-b"), [2]),
    (TraceFilter(order_id="ord-c"), [3]),
    (TraceFilter(order_id="nope"), []),
    (TraceFilter(min_duration_ms=50), [2, 1]),
    (TraceFilter(service="payments"), [3]),
    (TraceFilter(service="gateway"), [3, 1]),
    (TraceFilter(error=True), [2]),
    (TraceFilter(error=False), [3, 1]),
    (TraceFilter(service="gateway", min_duration_ms=10), [1]),
])
def test_recent_traces_are_filtered_and_newest_first(three_traces, f, expected):
    assert [i["trace_id"] for i in list_traces(three_traces.db, f)] == [tid(n) for n in expected]


def test_a_trace_lists_the_orders_its_spans_name(three_traces):
    (item,) = list_traces(three_traces.db, TraceFilter(order_id="ord-c"))
    assert item["order_ids"] == ["ord-c"]
    assert item["services"] == ["gateway", "payments"]


def test_a_trace_reads_back_every_span_by_start_with_words_for_kind_and_status(three_traces):
    spans = get_trace(three_traces.db, tid(3))
    assert [s["span_id"] for s in spans] == [(1).to_bytes(8, "big").hex(),
                                             (2).to_bytes(8, "big").hex()]
    assert spans[0]["kind"] == "internal" and spans[0]["status"] == {"code": "unset",
                                                                     "message": ""}
    assert spans[1]["attributes"] == {"mercato.order_id": "ord-c"}
    assert spans[1]["service"] == "payments" and spans[1]["instance"] == "payments-1"
    assert get_trace(three_traces.db, tid(2))[0]["status"] == {"code": "error",
                                                               "message": "boom"}


@pytest.mark.parametrize(("query", "parameter"), [
    ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "ten"}, "limit"),
    ({"min_duration_ms": "-1"}, "min_duration_ms"), ({"min_duration_ms": "x"},
                                                     "min_duration_ms"),
    ({"error": "yes"}, "error"), ({"order_id": ""}, "order_id"), ({"service": ""}, "service"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_query_parameter_is_named(query, parameter):
    with pytest.raises(BadQuery) as caught:
        parse_filter(query)
    assert caught.value.parameter == parameter


def test_good_query_parameters_make_the_filter():
    assert parse_filter({"order_id": "o1", "limit": "200", "min_duration_ms": "2.5",
                         "service": "orders", "error": "true"}) == TraceFilter(
        "o1", 200, 2.5, "orders", True)

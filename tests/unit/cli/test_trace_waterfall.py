"""`mercato trace`: the waterfall drawn from a trace's spans, and the command reading the
running platform's store (a real store app on a free port, found through state.json)."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestServer
from rich.console import Console

from mercato.chassis.telemetry.span_tree import ordered, self_time
from mercato.cli.trace import show_trace
from mercato.cli.waterfall import bar, waterfall
from mercato.platform.running import NotRunning
from mercato.tracestore import TraceStore, create_app
from mercato.tracestore.otlp import PROTOBUF, decode
from tests.unit.tracestore.conftest import export, span, tid

MS = 1_000_000


def s(span_id: str, parent: str, start_ms: float, ms: float, name: str = "",
      service: str = "orders", error: bool = False) -> dict:
    return {"span_id": span_id, "parent_span_id": parent, "name": name or span_id,
            "service": service, "start_unix_nano": int(start_ms * MS),
            "end_unix_nano": int((start_ms + ms) * MS),
            "status": {"code": "error" if error else "unset", "message": ""}}


CHECKOUT = [
    s("root", "", 0, 100, "POST /api/v1/orders", "gateway"),
    s("pay", "saga", 40, 50, "saga authorize"),
    s("saga", "root", 10, 85, "checkout saga"),
    s("reserve", "saga", 12, 20, "saga reserve", "inventory", error=True),
    s("lost", "not-here", 95, 2, "orphan", "notifications"),
]


def render(spans: list[dict]) -> str:
    console = Console(record=True, width=160, color_system="truecolor")
    console.print(waterfall(spans))
    return console.export_text()


def test_spans_are_ordered_under_their_parents_and_siblings_by_start():
    assert [(depth, x["span_id"]) for depth, x in ordered(CHECKOUT)] == [
        (0, "root"), (1, "saga"), (2, "reserve"), (2, "pay"), (0, "lost")]


def test_each_row_is_indented_by_depth_and_shows_service_and_duration():
    lines = render(CHECKOUT).splitlines()
    row = next(line for line in lines if "saga reserve" in line)
    assert row.startswith("    saga reserve")  # depth 2
    assert "inventory" in row and "20.0" in row
    assert next(line for line in lines if "checkout saga" in line).startswith("  checkout")


def test_bars_are_placed_by_start_and_sized_by_duration_within_the_trace():
    assert bar(s("a", "", 0, 100), 0, 100 * MS, width=10) == "█" * 10
    assert bar(s("b", "", 50, 20), 0, 100 * MS, width=10) == "     ██   "
    assert bar(s("c", "", 99, 0.01), 0, 100 * MS, width=10) == "         █"  # never empty


def test_the_slowest_span_below_the_root_is_marked_and_errors_are_red():
    table = waterfall(CHECKOUT)
    styles = {cell.plain.strip(): str(cell.style) for cell in table.columns[0].cells}
    assert styles["saga reserve !"] == "red"
    # 50 ms of its own; the saga (85 ms) and the root (100 ms) mostly wait for their spans
    assert styles["saga authorize"] == "bold yellow"
    assert styles["POST /api/v1/orders"] == styles["checkout saga"] == ""
    marked = [line for line in render(CHECKOUT).splitlines() if "slowest" in line]
    assert len(marked) == 1 and "saga authorize" in marked[0]


def test_time_of_its_own_excludes_overlapping_children_once():
    parent = s("p", "", 0, 100)
    kids = [s("a", "p", 10, 30), s("b", "p", 20, 30), s("c", "p", 90, 50)]  # 10-50, 90-100
    assert self_time(parent, kids) == 50 * MS


@pytest.fixture
async def running(tmp_path):
    """A data dir whose state.json names a live trace store holding two traces of one
    order (an older and a newer one)."""
    store = TraceStore(tmp_path / "traces.db", max_traces=100, max_bytes=2**30)
    server = TestServer(create_app(store), host="127.0.0.1")
    await server.start_server()
    for n, start in ((1, 1), (2, 5)):
        request = export("orders", span(n, 1, name=f"checkout {n}", start=start,
                                        attrs={"mercato.order_id": "ord-9"}),
                         span(n, 2, parent=1, name="reserve", start=start + 0.001))
        store.ingest(*decode(request.SerializeToString(), PROTOBUF))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "state.json").write_text(json.dumps({
        "nats_url": "nats://127.0.0.1:1",
        "trace_store_url": str(server.make_url("")).rstrip("/")}))
    yield tmp_path
    await server.close()


async def test_an_order_id_shows_its_newest_trace(running):
    console = Console(record=True, width=160)
    assert await show_trace(running, "ord-9", console) == 0
    text = console.export_text()
    assert tid(2) in text and "checkout 2" in text and "reserve" in text
    assert f"1 older trace(s) name this order too: {tid(1)}" in text


async def test_a_trace_id_shows_that_trace(running):
    console = Console(record=True, width=160)
    assert await show_trace(running, tid(1), console) == 0
    assert "checkout 1" in console.export_text()


async def test_nothing_found_is_an_error_and_exit_1(running):
    console = Console(record=True, width=160)
    assert await show_trace(running, "ord-unknown", console) == 1
    assert "no trace with id 'ord-unknown'" in console.export_text()


async def test_no_running_platform_or_no_store_is_said_plainly(tmp_path):
    with pytest.raises(NotRunning, match="not running"):
        await show_trace(tmp_path, "ord-1", Console())
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "state.json").write_text(json.dumps({
        "nats_url": "nats://127.0.0.1:1", "trace_store_url": None}))
    with pytest.raises(NotRunning, match="keeps no trace store"):
        await show_trace(tmp_path, "ord-1", Console())

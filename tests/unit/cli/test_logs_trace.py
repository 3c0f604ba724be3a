"""`mercato logs --trace`: one trace's lines from every process's log, in time order."""

from __future__ import annotations

import json

from mercato.cli.logs import print_trace_lines, trace_lines

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "00f067aa0ba902b700f067aa0ba902b7"


def line(process: str, ts: str, event: str, trace: str | None = TRACE) -> str:
    record = {"event": event, "process": process, "level": "info", "timestamp": ts}
    if trace:
        record.update(trace_id=trace, span_id="00f067aa0ba902b7")
    return json.dumps(record)


def write_logs(logs):
    logs.mkdir()
    (logs / "gateway-1.log").write_text("\n".join([
        line("gateway-1", "2026-01-01T10:00:00.100000Z", "request"),
        line("gateway-1", "2026-01-01T10:00:00.900000Z", "answered"),
        line("gateway-1", "2026-01-01T10:00:00.500000Z", "other trace", OTHER),
    ]) + "\n")
    (logs / "orders-1.log").write_text("\n".join([
        "Traceback (most recent call last): " + TRACE,  # not JSON: skipped
        line("orders-1", "2026-01-01T10:00:00.200000Z", "order placed"),
        line("orders-1", "2026-01-01T10:00:00.700000Z", "saga confirmed"),
        line("orders-1", "2026-01-01T10:00:00.300000Z", "no trace", None),
    ]) + "\n")
    (logs / "payments-1.log").write_text(
        line("payments-1", "2026-01-01T10:00:00.400000Z", "authorized") + "\n")
    (logs / "nats.log").write_text(f"[1] nats says {TRACE}\n")


def test_the_lines_of_one_trace_from_every_process_are_merged_in_time_order(tmp_path):
    write_logs(tmp_path / "logs")
    found = trace_lines(tmp_path / "logs", TRACE)
    assert [(x.process, json.loads(x.text)["event"]) for x in found] == [
        ("gateway-1", "request"), ("orders-1", "order placed"),
        ("payments-1", "authorized"), ("orders-1", "saga confirmed"),
        ("gateway-1", "answered")]


def test_each_line_is_printed_after_its_process(tmp_path):
    write_logs(tmp_path / "logs")
    out: list[str] = []
    assert print_trace_lines(tmp_path / "logs", TRACE.upper(), lambda s, err=False:
                             out.append(s)) == 0
    assert len(out) == 5
    assert out[0].startswith("gateway-1   {") and '"event": "request"' in out[0]
    assert out[2].startswith("payments-1  {")


def test_no_matching_line_or_no_logs_is_an_error(tmp_path):
    errors: list[str] = []

    def echo(text, err=False):
        errors.append(text)

    assert print_trace_lines(tmp_path / "logs", TRACE, echo) == 1
    assert "no logs at" in errors[-1]
    write_logs(tmp_path / "logs")
    assert print_trace_lines(tmp_path / "logs", "f" * 32, echo) == 1
    assert "no log line" in errors[-1]

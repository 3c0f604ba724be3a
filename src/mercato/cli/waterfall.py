"""A trace as a waterfall in the terminal (rich): one row per span, indented under its
parent, with a bar placed by its start and length relative to the whole trace.

The slowest span is highlighted: the one with the most time of its own, not spent in
the spans under it (the longest overall is always the root, which says nothing); error
spans are red.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

BAR_WIDTH = 40


def ordered(spans: list[dict]) -> list[tuple[int, dict]]:
    """(depth, span) in tree order: each span after its parent, siblings by start. A span
    whose parent is not in the trace is a root (depth 0)."""
    ids = {s["span_id"] for s in spans}
    children: dict[str, list[dict]] = {}
    roots = []
    for s in sorted(spans, key=lambda s: (s["start_unix_nano"], s["span_id"])):
        parent = s.get("parent_span_id") or ""
        if parent and parent in ids and parent != s["span_id"]:
            children.setdefault(parent, []).append(s)
        else:
            roots.append(s)
    out: list[tuple[int, dict]] = []
    stack = [(0, s) for s in reversed(roots)]
    seen: set[str] = set()
    while stack:
        depth, span = stack.pop()
        if span["span_id"] in seen:  # a cycle in bad data: show each span once
            continue
        seen.add(span["span_id"])
        out.append((depth, span))
        stack.extend((depth + 1, c) for c in reversed(children.get(span["span_id"], [])))
    return out


def _ms(span: dict) -> float:
    return max(span["end_unix_nano"] - span["start_unix_nano"], 0) / 1e6


def self_time(span: dict, children: list[dict]) -> int:
    """Nanoseconds of ``span`` not covered by any of its children: the time it spent
    itself, not waiting for the calls and steps under it."""
    start, end = span["start_unix_nano"], span["end_unix_nano"]
    covered, reach = 0, start
    for c in sorted(children, key=lambda c: c["start_unix_nano"]):
        lo, hi = max(c["start_unix_nano"], reach), min(c["end_unix_nano"], end)
        if hi > lo:
            covered += hi - lo
            reach = hi
    return max(end - start - covered, 0)


def slowest(rows: list[tuple[int, dict]]) -> dict | None:
    """The span with the most time of its own (``self_time``): where the time went. The
    longest span overall would always be the root, which says nothing."""
    children: dict[str, list[dict]] = {}
    for _depth, span in rows:
        children.setdefault(span.get("parent_span_id") or "", []).append(span)
    return max((span for _, span in rows),
               key=lambda s: self_time(s, children.get(s["span_id"], [])), default=None)


def bar(span: dict, start: int, total: int, width: int = BAR_WIDTH) -> str:
    """``width`` characters: blanks up to the span's start, then at least one block."""
    offset = min(int((span["start_unix_nano"] - start) / total * width), width - 1)
    length = max(1, round((span["end_unix_nano"] - span["start_unix_nano"]) / total * width))
    length = min(length, width - offset)
    return " " * offset + "█" * length + " " * (width - offset - length)


def waterfall(spans: list[dict], title: str = "", width: int = BAR_WIDTH) -> Table:
    """The table for one trace's spans (as ``GET /traces/{id}`` gives them)."""
    rows = ordered(spans)
    start = min((s["start_unix_nano"] for s in spans), default=0)
    end = max((s["end_unix_nano"] for s in spans), default=0)
    total = max(end - start, 1)
    slow = slowest(rows)
    table = Table(title=title or None, title_justify="left", box=None, pad_edge=False)
    table.add_column("span", no_wrap=True, overflow="ellipsis", max_width=60)
    table.add_column("service", no_wrap=True)
    table.add_column(f"{total / 1e6:.1f} ms", no_wrap=True, width=width)
    table.add_column("ms", justify="right", no_wrap=True)
    for depth, span in rows:
        error = span.get("status", {}).get("code") == "error"
        style = "red" if error else ("bold yellow" if span is slow else "")
        name = "  " * depth + span["name"] + (" !" if error else "")
        note = " ◀ slowest" if span is slow else ""
        table.add_row(Text(name, style=style), Text(span.get("service", ""), style=style),
                      Text(bar(span, start, total, width), style=style or "cyan"),
                      Text(f"{_ms(span):.1f}{note}", style=style))
    return table

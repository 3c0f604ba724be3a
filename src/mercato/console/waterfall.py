"""A trace as a waterfall of bars, drawn on the server: one row per span, in tree order
(each span after its parent, siblings by start), its bar placed by start and length within
the whole trace. The slowest span — the one with the most time of its own, not spent in the
spans under it — is marked, error spans too (the same reading as ``mercato trace``).

Bars are SVG rectangles in a 0..1000 view box: the page's Content-Security-Policy allows no
inline style, and SVG geometry is not style.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALE = 1000


@dataclass
class Row:
    depth: int
    name: str
    service: str
    kind: str
    ms: float
    x: int
    width: int
    error: bool
    slowest: bool


def ordered(spans: list[dict]) -> list[tuple[int, dict]]:
    """(depth, span) in tree order; a span whose parent is not in the trace is a root."""
    ids = {s["span_id"] for s in spans}
    children: dict[str, list[dict]] = {}
    roots = []
    for s in sorted(spans, key=lambda s: (s["start_unix_nano"], s["span_id"])):
        parent = s.get("parent_span_id") or ""
        if parent in ids and parent != s["span_id"]:
            children.setdefault(parent, []).append(s)
        else:
            roots.append(s)
    out: list[tuple[int, dict]] = []
    stack = [(0, s) for s in reversed(roots)]
    seen: set[str] = set()
    while stack:
        depth, span = stack.pop()
        if span["span_id"] in seen:  # a cycle in bad data: each span once
            continue
        seen.add(span["span_id"])
        out.append((depth, span))
        stack.extend((depth + 1, c) for c in reversed(children.get(span["span_id"], [])))
    return out


def self_time(span: dict, children: list[dict]) -> int:
    """Nanoseconds of ``span`` not covered by any of its children."""
    start, end = span["start_unix_nano"], span["end_unix_nano"]
    covered, reach = 0, start
    for c in sorted(children, key=lambda c: c["start_unix_nano"]):
        lo, hi = max(c["start_unix_nano"], reach), min(c["end_unix_nano"], end)
        if hi > lo:
            covered += hi - lo
            reach = hi
    return max(end - start - covered, 0)


def waterfall(spans: list[dict]) -> tuple[list[Row], float]:
    """The rows of one trace (as ``GET /api/v1/ops/traces/{id}`` gives its spans) and the
    trace's length in ms."""
    if not spans:
        return [], 0.0
    tree = ordered(spans)
    start = min(s["start_unix_nano"] for s in spans)
    total = max(max(s["end_unix_nano"] for s in spans) - start, 1)
    children: dict[str, list[dict]] = {}
    for _depth, span in tree:
        children.setdefault(span.get("parent_span_id") or "", []).append(span)
    slow = max((s for _, s in tree), key=lambda s: self_time(s, children.get(s["span_id"], [])))
    rows = []
    for depth, s in tree:
        x = min(int((s["start_unix_nano"] - start) / total * SCALE), SCALE - 2)
        width = max(2, round((s["end_unix_nano"] - s["start_unix_nano"]) / total * SCALE))
        rows.append(Row(depth, s["name"], s.get("service", ""), s.get("kind", ""),
                        max(s["end_unix_nano"] - s["start_unix_nano"], 0) / 1e6, x,
                        min(width, SCALE - x),
                        (s.get("status") or {}).get("code") == "error", s is slow))
    return rows, total / 1e6

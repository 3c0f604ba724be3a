"""A trace as a waterfall of bars, drawn on the server: one row per span, in tree order
(each span after its parent, siblings by start), its bar placed by start and length within
the whole trace. The slowest span — the one with the most time of its own, not spent in the
spans under it — is marked, error spans too (the same reading as ``mercato trace``).

Bars are SVG rectangles in a 0..1000 view box: the page's Content-Security-Policy allows no
inline style, and SVG geometry is not style.
"""

from __future__ import annotations

from dataclasses import dataclass

from mercato.chassis.telemetry.span_tree import ordered, slowest

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


def waterfall(spans: list[dict]) -> tuple[list[Row], float]:
    """The rows of one trace (as ``GET /api/v1/ops/traces/{id}`` gives its spans) and the
    trace's length in ms."""
    if not spans:
        return [], 0.0
    tree = ordered(spans)
    start = min(s["start_unix_nano"] for s in spans)
    total = max(max(s["end_unix_nano"] for s in spans) - start, 1)
    slow = slowest(tree)
    rows = []
    for depth, s in tree:
        x = min(int((s["start_unix_nano"] - start) / total * SCALE), SCALE - 2)
        width = max(2, round((s["end_unix_nano"] - s["start_unix_nano"]) / total * SCALE))
        rows.append(Row(depth, s["name"], s.get("service", ""), s.get("kind", ""),
                        max(s["end_unix_nano"] - s["start_unix_nano"], 0) / 1e6, x,
                        min(width, SCALE - x),
                        (s.get("status") or {}).get("code") == "error", s is slow))
    return rows, total / 1e6

"""A trace as a waterfall in the terminal (rich): one row per span, indented under its
parent, with a bar placed by its start and length relative to the whole trace.

The slowest span is highlighted: the one with the most time of its own, not spent in
the spans under it (the longest overall is always the root, which says nothing); error
spans are red.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from mercato.chassis.telemetry.span_tree import ordered, slowest

BAR_WIDTH = 40


def _ms(span: dict) -> float:
    return max(span["end_unix_nano"] - span["start_unix_nano"], 0) / 1e6


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

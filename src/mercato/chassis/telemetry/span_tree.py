"""A trace's spans as a tree, for the waterfalls that draw it (``mercato trace`` in the
terminal, the console's order page): tree order, and where the time went.

Spans are dicts as the trace store answers them (``span_id``, ``parent_span_id``,
``start_unix_nano``, ``end_unix_nano``, ...).
"""

from __future__ import annotations


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

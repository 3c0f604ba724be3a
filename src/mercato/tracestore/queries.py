"""Reading the store: recent traces (filtered) and every span of one trace, as the JSON
the HTTP API answers; and the query parameters of ``GET /traces``, checked."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from mercato.tracestore.otlp import kind_word, span_details, status_word

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_PARAMS = ("order_id", "limit", "min_duration_ms", "service", "error")


class BadQuery(ValueError):
    """A query parameter is wrong: ``parameter`` names it, the message says why."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class TraceFilter:
    order_id: str | None = None
    limit: int = DEFAULT_LIMIT
    min_duration_ms: float | None = None
    service: str | None = None
    error: bool | None = None


def parse_filter(query: Mapping[str, str]) -> TraceFilter:
    """The filter a ``GET /traces`` query string asks for; ``BadQuery`` names a parameter
    that is unknown, empty or out of range."""
    for name in query:
        if name not in _PARAMS:
            raise BadQuery(name, f"unknown query parameter {name!r}; known: "
                                 f"{', '.join(_PARAMS)}")
    for name in ("order_id", "service"):
        if name in query and not 0 < len(query[name]) <= 200:
            raise BadQuery(name, f"{name} must be 1 to 200 characters")
    limit = DEFAULT_LIMIT
    if "limit" in query:
        text = query["limit"]
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
            raise BadQuery("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
        limit = int(text)
    min_duration = None
    if "min_duration_ms" in query:
        try:
            min_duration = float(query["min_duration_ms"])
        except ValueError:
            min_duration = -1.0
        if not 0 <= min_duration < 1e12:
            raise BadQuery("min_duration_ms", "min_duration_ms must be a number >= 0")
    error = None
    if "error" in query:
        if query["error"] not in ("true", "false"):
            raise BadQuery("error", "error must be true or false")
        error = query["error"] == "true"
    return TraceFilter(query.get("order_id"), limit, min_duration, query.get("service"), error)


def list_traces(db: sqlite3.Connection, f: TraceFilter) -> list[dict]:
    """The newest traces (by first start) that match ``f``, with their summaries."""
    where, args = [], []
    if f.order_id is not None:
        where.append("t.trace_id IN (SELECT trace_id FROM trace_orders WHERE order_id = ?)")
        args.append(f.order_id)
    if f.min_duration_ms is not None:
        where.append("t.end_unix_nano - t.start_unix_nano >= ?")
        args.append(int(f.min_duration_ms * 1_000_000))
    if f.service is not None:
        where.append("EXISTS (SELECT 1 FROM trace_services AS s "
                     "WHERE s.trace_id = t.trace_id AND s.service = ?)")
        args.append(f.service)
    if f.error is not None:
        where.append("t.error = ?")
        args.append(int(f.error))
    rows = db.execute(
        "SELECT trace_id, root_service, root_name, start_unix_nano, end_unix_nano, "
        "span_count, error FROM traces AS t"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY start_unix_nano DESC LIMIT ?", [*args, f.limit]).fetchall()
    items = []
    for trace_id, root_service, root_name, start, end, count, error in rows:
        services = [r[0] for r in db.execute(
            "SELECT service FROM trace_services WHERE trace_id = ? ORDER BY service",
            (trace_id,))]
        orders = [r[0] for r in db.execute(
            "SELECT order_id FROM trace_orders WHERE trace_id = ? ORDER BY order_id",
            (trace_id,))]
        items.append({"trace_id": trace_id, "root_service": root_service,
                      "root_name": root_name, "start_unix_nano": start,
                      "duration_ms": round((end - start) / 1e6, 3), "span_count": count,
                      "services": services, "error": bool(error), "order_ids": orders})
    return items


def get_trace(db: sqlite3.Connection, trace_id: str) -> list[dict] | None:
    """Every span of one trace, by start time; None when the store has none of it."""
    rows = db.execute(
        "SELECT trace_id, span_id, parent_span_id, name, kind, service, instance, version, "
        "start_unix_nano, end_unix_nano, status_code, status_message, body "
        "FROM spans WHERE trace_id = ? ORDER BY start_unix_nano, span_id",
        (trace_id,)).fetchall()
    if not rows:
        return None
    spans = []
    for r in rows:
        attributes, events, links = span_details(r[12])
        spans.append({"trace_id": r[0], "span_id": r[1], "parent_span_id": r[2],
                      "name": r[3], "kind": kind_word(r[4]), "service": r[5],
                      "instance": r[6], "version": r[7], "start_unix_nano": r[8],
                      "end_unix_nano": r[9],
                      "status": {"code": status_word(r[10]), "message": r[11]},
                      "attributes": attributes, "events": events, "links": links})
    return spans

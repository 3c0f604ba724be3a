"""The trace store's SQLite file: spans, one summary row per trace, and the indexes the
queries use (order id -> trace, trace -> services).

One transaction per export request: the spans go in with ``executemany`` and the
summaries of the traces they belong to are recomputed from their spans in SQL (spans of
one trace arrive from several processes, in several exports, in any order; recomputing
makes the summary right whatever arrived first, and a span sent twice counts once).

Bounded: past ``max_traces`` traces, or ``max_bytes`` of used pages, the oldest traces (by
first start) go, all their rows with them. Freed pages are reused, so the file stops
growing at about the bound; it is not shrunk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from mercato.tracestore.otlp import SpanRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT NOT NULL,
    name TEXT NOT NULL, kind INTEGER NOT NULL, service TEXT NOT NULL,
    instance TEXT NOT NULL, version TEXT NOT NULL, start_unix_nano INTEGER NOT NULL,
    end_unix_nano INTEGER NOT NULL, status_code INTEGER NOT NULL,
    status_message TEXT NOT NULL, body BLOB NOT NULL  -- the span's protobuf encoding
);
-- a rowid table: new spans append at its end; only this small index takes random inserts
CREATE UNIQUE INDEX IF NOT EXISTS spans_by_trace ON spans (trace_id, span_id);
CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY, start_unix_nano INTEGER NOT NULL,
    end_unix_nano INTEGER NOT NULL, span_count INTEGER NOT NULL, error INTEGER NOT NULL,
    root_name TEXT, root_service TEXT
);
CREATE INDEX IF NOT EXISTS traces_by_start ON traces (start_unix_nano);
CREATE TABLE IF NOT EXISTS trace_services (
    trace_id TEXT NOT NULL, service TEXT NOT NULL, PRIMARY KEY (trace_id, service)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trace_orders (
    order_id TEXT NOT NULL, trace_id TEXT NOT NULL, PRIMARY KEY (order_id, trace_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trace_orders_by_trace ON trace_orders (trace_id);
"""

_SUMMARIZE = """
INSERT INTO traces (trace_id, start_unix_nano, end_unix_nano, span_count, error)
SELECT trace_id, min(start_unix_nano), max(end_unix_nano), count(*),
       max(status_code = 2)  -- STATUS_CODE_ERROR
FROM spans WHERE trace_id IN ({marks}) GROUP BY trace_id
ON CONFLICT (trace_id) DO UPDATE SET
    start_unix_nano = excluded.start_unix_nano, end_unix_nano = excluded.end_unix_nano,
    span_count = excluded.span_count, error = excluded.error
"""
# The root: a span with no parent, else the earliest span whose parent is not (yet) here.
_ROOT = """
UPDATE traces SET (root_name, root_service) = (
    SELECT s.name, s.service FROM spans AS s
    WHERE s.trace_id = traces.trace_id AND (s.parent_span_id = '' OR NOT EXISTS (
        SELECT 1 FROM spans AS p WHERE p.trace_id = s.trace_id
                                   AND p.span_id = s.parent_span_id))
    ORDER BY s.parent_span_id != '', s.start_unix_nano LIMIT 1)
WHERE trace_id IN ({marks})
"""
_DROP = ("spans", "trace_services", "trace_orders", "traces")
_SPAN_INSERT = f"INSERT OR REPLACE INTO spans VALUES ({', '.join('?' * 13)})"


class TraceStore:
    """One SQLite file of spans and trace summaries, bounded (see the module's doc)."""

    def __init__(self, path: Path, *, max_traces: int, max_bytes: int) -> None:
        self.path = Path(path)
        self.max_traces = max_traces
        self.max_bytes = max_bytes
        self._db: sqlite3.Connection | None = None
        self._traces = 0

    def open(self) -> None:
        """Open (creating) the file in WAL mode; the summaries on disk are kept."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a lost last export is fine; speed is not
        db.executescript(SCHEMA)
        self._db = db
        self._traces = db.execute("SELECT count(*) FROM traces").fetchone()[0]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "TraceStore.open() was not called"
        return self._db

    def ingest(self, spans: list[SpanRow], orders: Iterable[tuple[str, str]]) -> None:
        """Add the spans of one export and the (order id, trace id) pairs they name, update
        their traces' summaries, then drop the oldest traces past the bounds."""
        if not spans:
            return
        db = self.db
        traces = list({s.trace_id for s in spans})
        marks = ", ".join("?" * len(traces))
        db.execute("BEGIN IMMEDIATE")
        try:
            known = db.execute(f"SELECT count(*) FROM traces WHERE trace_id IN ({marks})",
                               traces).fetchone()[0]
            db.executemany(_SPAN_INSERT, spans)
            db.executemany("INSERT OR IGNORE INTO trace_services VALUES (?, ?)",
                           {(s.trace_id, s.service) for s in spans})
            db.executemany("INSERT OR IGNORE INTO trace_orders VALUES (?, ?)", orders)
            db.execute(_SUMMARIZE.format(marks=marks), traces)
            db.execute(_ROOT.format(marks=marks), traces)
            self._traces += len(traces) - known
            self._enforce_bounds()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._traces = db.execute("SELECT count(*) FROM traces").fetchone()[0]
            raise

    def used_bytes(self) -> int:
        """Bytes of the file's pages in use (free pages, reused before growing, excluded)."""
        db = self.db
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * db.execute("PRAGMA page_size").fetchone()[0]

    @property
    def trace_count(self) -> int:
        return self._traces

    def _enforce_bounds(self) -> None:
        if self._traces > self.max_traces:
            self._drop_oldest(self._traces - self.max_traces)
        if self.used_bytes() > self.max_bytes:
            # a tenth at a time, so a store at its size bound does not delete on every export
            self._drop_oldest(max(self._traces // 10, 1))

    def _drop_oldest(self, count: int) -> None:
        db = self.db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS dropping (trace_id TEXT PRIMARY KEY)")
        db.execute("DELETE FROM dropping")
        db.execute("INSERT INTO dropping SELECT trace_id FROM traces "
                   "ORDER BY start_unix_nano LIMIT ?", (count,))
        for table in _DROP:
            db.execute(f"DELETE FROM {table} WHERE trace_id IN (SELECT trace_id FROM dropping)")
        self._traces -= db.execute("SELECT count(*) FROM dropping").fetchone()[0]

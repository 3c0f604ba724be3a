"""The transactional outbox: events are rows written in the same transaction as the
state change that caused them; the relay publishes them after the commit.

Each row records the trace context it was written in (column ``traceparent``, also in the
envelope: the transaction's span, on which the write is an event), and the relay's publish
continues from it, so an event's consumers join the trace of the request that caused it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from opentelemetry import trace

from mercato.chassis.clock import Clock, IdFactory, iso, new_id, utc_now
from mercato.chassis.context import request_id_var
from mercato.chassis.data.db import Connection, Database
from mercato.chassis.telemetry import current_traceparent
from mercato.contracts.envelope import Envelope, Event


class Outbox:
    """Records events for one publishing service. ``add`` must be called with the
    handler's transaction; the relay is woken once that transaction commits."""

    def __init__(self, db: Database, source: str, *, clock: Clock = utc_now,
                 new_event_id: IdFactory = new_id) -> None:
        self.db = db
        self.source = source
        self.clock = clock
        self.new_event_id = new_event_id
        self.wakeup = asyncio.Event()
        self._listeners: list[Callable[[], None]] = [self.wakeup.set]

    async def add(self, tx: Connection, event: Event, *, event_id: str | None = None,
                  correlation_id: str | None = None, causation_id: str | None = None
                  ) -> Envelope:
        if event.SOURCE != self.source:
            raise ValueError(f"{self.source} cannot publish {event.type_name()} "
                             f"(it belongs to {event.SOURCE})")
        rid = request_id_var.get()
        event_id = event_id or self.new_event_id()
        payload = event.model_dump(mode="json")
        _record(event_id, event, payload)
        envelope = Envelope(
            id=event_id, type=event.type_name(), version=event.VERSION,
            source=self.source, occurred_at=iso(self.clock()),
            correlation_id=correlation_id or (rid if rid != "-" else None),
            causation_id=causation_id, traceparent=current_traceparent(), payload=payload,
        )
        await self._store(tx, envelope)
        tx.on_commit(self._notify)
        return envelope

    async def _store(self, tx: Connection, envelope: Envelope) -> None:
        """The row, in the caller's transaction; an id stored already is kept as it was.
        (The seam an in-memory outbox for handler tests replaces: tests/support/memory.)"""
        await tx.execute(
            "INSERT INTO outbox (id, subject, body, created_at, traceparent)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            envelope.id, envelope.subject, envelope.model_dump_json().encode(),
            envelope.occurred_at, envelope.traceparent)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    async def pending(self, limit: int) -> list[dict]:
        return await self.db.fetch_all(
            "SELECT seq, id, subject, body, traceparent FROM outbox"
            " WHERE published_at IS NULL ORDER BY seq LIMIT ?", limit)

    async def mark_published(self, seqs: list[int]) -> None:
        if not seqs:
            return
        at = iso(self.clock())
        async with self.db.transaction() as tx:
            await tx.execute_many("UPDATE outbox SET published_at = ? WHERE seq = ?",
                                  [(at, seq) for seq in seqs])

    async def published_counts(self, since: str, after: int = 0) -> dict[str, int]:
        """Rows published at or after ``since`` (ISO text), of a ``seq`` above ``after``,
        per subject."""
        rows = await self.db.fetch_all(
            "SELECT subject, COUNT(*) AS n FROM outbox WHERE published_at >= ? AND seq > ?"
            " GROUP BY subject", since, after)
        return {r["subject"]: int(r["n"]) for r in rows}

    async def redrive(self, since: str, after: int = 0) -> int:
        """Mark the rows published at or after ``since``, of a ``seq`` above ``after``,
        unsent again, so the relay re-publishes them in order (the broker lost them:
        messaging/redrive.py); how many."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE outbox SET published_at = NULL WHERE published_at IS NOT NULL"
                " AND published_at >= ? AND seq > ?", since, after)
        self._notify()
        return int(changed or 0)

    async def prune(self, before: str, limit: int = 1000) -> int:
        """Delete up to ``limit`` rows published before ``before`` (past the retention:
        the stream no longer holds them either); how many."""
        async with self.db.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
                " WHERE published_at IS NOT NULL AND published_at < ? ORDER BY seq LIMIT ?)",
                before, limit)
        return int(removed or 0)

    async def unpublished(self, first: int = 5) -> dict:
        """How many rows are not published yet, and the ids of the oldest ``first`` (for
        ``mercato verify``), without reading message bodies."""
        rows = await self.db.fetch_all(
            "SELECT id, subject FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT ?",
            first)
        return {"pending": await self.count_pending(),
                "first": [{"id": r["id"], "subject": r["subject"]} for r in rows]}

    async def count_pending(self) -> int:
        row = await self.db.fetch_one(
            "SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL")
        return int(row["n"]) if row else 0


def _record(event_id: str, event: Event, payload: dict) -> None:
    """The write, as an event on the active span (the transaction's): an event, not a span
    of its own, because a span costs several times more and this one would only repeat
    its transaction's timing (benchmarks/RESULTS.md, bench_tracing). The order it names
    goes on the span too: what ``GET /api/v1/ops/traces?order_id=`` finds."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.add_event("outbox.add", {"messaging.message.id": event_id,
                                  "mercato.event.type": event.type_name()})
    order_id = payload.get("order_id")
    if isinstance(order_id, str):
        span.set_attribute("mercato.order_id", order_id)

"""The outbox relay: publishes committed outbox rows to JetStream, in order, and marks a
row sent only after the broker's acknowledgment; re-publishes the retained ones when the
broker lost them (``redrive.StreamGuard``). Each publish is a producer span continuing
the trace its row was written in; the message carries that span's ``traceparent``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from mercato.chassis.clock import iso
from mercato.chassis.faults import NO_FAULTS
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.outbox import Outbox
from mercato.chassis.messaging.redrive import StreamGuard
from mercato.chassis.messaging.streams import EVENT_RETENTION, event_stream_config
from mercato.chassis.telemetry import (
    ERROR,
    SpanKind,
    format_traceparent,
    parse_traceparent,
    start_span,
    tracer,
)
from mercato.chassis.worker import Worker, doubling

log = get_logger(__name__)
PRUNE_EVERY = 600.0  # seconds between two prunings of the outbox's published rows
PRUNE_BATCH = 1000
FLOOR_EVERY = 5.0  # seconds between two readings of how far the stream's consumers got
_tracer = tracer("mercato.relay")


class Relay:
    """One per publishing process. Wakes at once after a commit that added events, polls
    every ``poll`` seconds as a fallback, and rides out a broker outage by retrying the
    first unsent row with exponential backoff (nothing after it is sent before it)."""

    def __init__(self, outbox: Outbox, js: JetStreamContext, *, batch: int = 200,
                 poll: float = 1.0, ack_timeout: float = 5.0, max_backoff: float = 5.0,
                 crash_point: Callable[[str], None] = NO_FAULTS,
                 stream: StreamConfig | None = None,
                 retention: float = EVENT_RETENTION, floor_every: float = FLOOR_EVERY) -> None:
        self.crash_point = crash_point
        self.outbox = outbox
        self.js = js
        # Watches the stream for a loss of what it acknowledged (redrive.py)
        self.guard = StreamGuard(js, outbox, stream or event_stream_config(outbox.source),
                                 retention=retention)
        self.batch = batch
        self.ack_timeout = ack_timeout
        self.published = 0
        self.worker = Worker("outbox-relay", self._pass, poll=poll, wakeup=outbox.wakeup,
                             backoff=doubling(0.1, max_backoff), failed="relay_publish_failed")
        self.retention = retention
        self.pruned = 0
        self.pruner = Worker("outbox-prune", self._prune, poll=PRUNE_EVERY,
                             backoff=doubling(1.0, 60.0), failed="outbox_prune_failed")
        # how far the stream's consumers got: what a re-drive may leave out (redrive.py)
        self.follower = Worker("outbox-consumed", self.guard.advance, poll=floor_every,
                               backoff=doubling(1.0, 30.0), failed="outbox_consumed_failed")

    def start(self) -> None:
        log.info("relay_started", stream=self.guard.stream.name)  # F3 times a restart by it
        self.worker.start()
        self.pruner.start()
        self.follower.start()

    async def stop(self) -> None:
        await self.follower.stop()
        await self.pruner.stop()
        await self.worker.stop()

    async def _prune(self) -> float | None:
        """Delete one batch of rows published longer ago than the retention; at once
        again if it was full."""
        before = iso(self.outbox.clock() - timedelta(seconds=self.retention))
        removed = await self.outbox.prune(before, PRUNE_BATCH)
        self.pruned += removed
        return 0 if removed >= PRUNE_BATCH else None

    def reconnected(self) -> None:
        """The broker connection came back (perhaps to a broker without its store): probe
        the stream before the next publish."""
        self.guard.suspect = True
        self.outbox.wakeup.set()

    async def _pass(self) -> float | None:
        """One batch; at once again if it was full, else after ``poll`` or a commit."""
        return 0 if await self.publish_pending() >= self.batch else None

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows in order; returns how many were sent.

        The publishes of a batch are pipelined (sent without waiting for each ack), then
        the acks are awaited in order; the rows up to the first failure are marked sent.
        """
        if self.guard.suspect and (lost := await self.guard.probe()):
            await self.guard.redrive(lost)
        rows = await self.outbox.pending(self.batch)
        if not rows:
            return 0
        self.crash_point("relay.before_publish")  # committed, not yet published
        spans = [_producer_span(row) for row in rows]
        pending = [
            asyncio.ensure_future(self.js.publish(
                row["subject"], bytes(row["body"]), timeout=self.ack_timeout,
                headers=_headers(row, span)))
            for row, span in zip(rows, spans, strict=True)
        ]
        done: list[int] = []
        error: BaseException | None = None
        backwards = False
        for row, fut, span in zip(rows, pending, spans, strict=True):
            try:
                ack = await fut
                backwards |= self.guard.acked(ack.seq, bool(ack.duplicate), row["seq"])
            except Exception as exc:
                error = exc
                span.set_status(ERROR, f"not acknowledged: {type(exc).__name__}")
                break
            finally:
                span.end()
            done.append(row["seq"])
        for fut, span in zip(pending[len(done) + 1:], spans[len(done) + 1:], strict=True):
            fut.cancel()
            span.end()
        await asyncio.gather(*pending, return_exceptions=True)
        if done:
            self.crash_point("relay.before_mark_sent")  # published, not yet marked sent
        await self.outbox.mark_published(done)
        self.published += len(done)
        if backwards:  # the stream started again from nothing: re-publish what it lost
            await self.guard.redrive("the stream's sequence went backwards")  # wakes it
        if error is not None:
            self.guard.suspect = True  # the stream may be gone: probe it next time
            raise error
        return len(done)


def _producer_span(row: dict):
    """``publish <subject>``, a child of the context the row was written in (a span that
    records nothing when that trace is not sampled)."""
    return start_span(
        _tracer, f"publish {row['subject']}", parse_traceparent(row.get("traceparent")),
        SpanKind.PRODUCER, {"messaging.system": "nats", "messaging.operation.type": "send",
                            "messaging.destination.name": row["subject"],
                            "messaging.message.id": row["id"]})


def _headers(row: dict, span) -> dict[str, str]:
    headers = {"Nats-Msg-Id": row["id"]}
    if traceparent := format_traceparent(span):
        headers["traceparent"] = traceparent
    return headers

"""The outbox relay: publishes committed outbox rows to JetStream, in order, and marks a
row sent only after the broker's acknowledgment. Each publish is a producer span continuing
the trace its row was written in; the message carries that span's ``traceparent``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.js import JetStreamContext

from mercato.chassis.faults import NO_FAULTS
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.outbox import Outbox
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
_tracer = tracer("mercato.relay")


class Relay:
    """One per publishing process. Wakes at once after a commit that added events, polls
    every ``poll`` seconds as a fallback, and rides out a broker outage by retrying the
    first unsent row with exponential backoff (nothing after it is sent before it)."""

    def __init__(self, outbox: Outbox, js: JetStreamContext, *, batch: int = 200,
                 poll: float = 1.0, ack_timeout: float = 5.0, max_backoff: float = 5.0,
                 crash_point: Callable[[str], None] = NO_FAULTS) -> None:
        self.crash_point = crash_point
        self.outbox = outbox
        self.js = js
        self.batch = batch
        self.ack_timeout = ack_timeout
        self.published = 0
        self.worker = Worker("outbox-relay", self._pass, poll=poll, wakeup=outbox.wakeup,
                             backoff=doubling(0.1, max_backoff), failed="relay_publish_failed")

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    async def _pass(self) -> float | None:
        """One batch; at once again if it was full, else after ``poll`` or a commit."""
        return 0 if await self.publish_pending() >= self.batch else None

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows in order; returns how many were sent.

        The publishes of a batch are pipelined (sent without waiting for each ack), then
        the acks are awaited in order; the rows up to the first failure are marked sent.
        """
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
        for row, fut, span in zip(rows, pending, spans, strict=True):
            try:
                await fut
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
        if error is not None:
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

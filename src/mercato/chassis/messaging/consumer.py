"""Durable, idempotent consumers: one JetStream pull consumer per subscription; each
message is handled in one transaction with its inbox row and acked after the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from mercato.chassis.clock import iso, utc_now
from mercato.chassis.context import request_id_var, traceparent_var
from mercato.chassis.data.db import Connection, Database
from mercato.chassis.faults import NO_FAULTS
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.dlq import dead_letter, replay_subject
from mercato.chassis.messaging.streams import ensure_stream, event_stream_config
from mercato.chassis.tasks import stop_tasks
from mercato.contracts.envelope import Envelope, Event, stream_for

log = get_logger(__name__)
Handler = Callable[[Connection, Envelope, Event], Awaitable[None]]
BACKOFF = (0.5, 2.0, 5.0, 15.0, 30.0)


@dataclass(frozen=True)
class Subscription:
    """What a service consumes: events of one publisher, and the handler for them."""

    name: str
    events: tuple[type[Event], ...]
    handler: Handler
    max_attempts: int = 5

    @property
    def source(self) -> str:
        sources = {e.SOURCE for e in self.events}
        if len(sources) != 1:
            raise ValueError(f"subscription {self.name} mixes publishers {sorted(sources)}")
        return sources.pop()


class Consumers:
    """Runs every subscription of one service process until stopped."""

    def __init__(self, service: str, db: Database, js: JetStreamContext,
                 subscriptions: list[Subscription], *, batch: int = 64,
                 backoff: tuple[float, ...] = BACKOFF, ack_wait: float = 30.0,
                 crash_point: Callable[[str], None] = NO_FAULTS) -> None:
        self.crash_point = crash_point
        self.service = service
        self.db = db
        self.js = js
        self.subscriptions = subscriptions
        self.batch = batch
        self.backoff = backoff
        self.ack_wait = ack_wait
        self.handled = 0
        self._tasks: list[asyncio.Task] = []

    def durable(self, sub: Subscription) -> str:
        return f"{self.service}__{sub.name}"

    async def start(self) -> None:
        for sub in self.subscriptions:
            stream = stream_for(sub.source)
            await ensure_stream(self.js, event_stream_config(sub.source))
            config = ConsumerConfig(
                durable_name=self.durable(sub), name=self.durable(sub),
                filter_subjects=[*(e.subject() for e in sub.events),
                                 replay_subject(sub.source, self.durable(sub))],
                ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                ack_wait=self.ack_wait, max_deliver=-1, max_ack_pending=1000,
            )
            try:  # creates it, or updates its filter; an existing one keeps its position
                await self.js.add_consumer(stream, config=config)
            except Exception as exc:
                log.warning("consumer_config_not_applied", consumer=self.durable(sub),
                            error=str(exc))
            psub = await self.js.pull_subscribe_bind(durable=self.durable(sub), stream=stream)
            self._tasks.append(asyncio.create_task(self._loop(sub, psub),
                                                   name=f"consume-{sub.name}"))

    async def stop(self) -> None:
        await stop_tasks(self._tasks)

    async def _loop(self, sub: Subscription, psub) -> None:
        while True:
            try:
                messages = await psub.fetch(self.batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_fetch_failed", subscription=sub.name, error=str(exc))
                await asyncio.sleep(1.0)
                continue
            for msg in messages:
                try:
                    await self.handle(sub, msg)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # e.g. the ack failed: redelivered after ack_wait
                    log.warning("consumer_message_failed", subscription=sub.name,
                                error=f"{type(exc).__name__}: {exc}")

    async def handle(self, sub: Subscription, msg) -> None:
        consumer = self.durable(sub)
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        envelope = None
        try:
            envelope = Envelope.model_validate_json(msg.data)
            event_type = next((e for e in sub.events if e.type_name() == envelope.type), None)
            if event_type is None:
                raise ValueError(f"{consumer} does not handle {envelope.type}")
            event = event_type.model_validate(envelope.payload)
        except (ValidationError, ValueError) as exc:
            # Unreadable: no retry can help. Straight to the dead letters.
            await self._give_up(sub, msg, envelope.id if envelope else "?",
                                envelope.type if envelope else "?",
                                f"unreadable message: {exc}", attempt)
            return
        request_id_var.set(envelope.correlation_id or envelope.id)
        traceparent_var.set(envelope.traceparent or "")
        try:
            async with self.db.transaction() as tx:
                fresh = await tx.execute(
                    "INSERT INTO inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (consumer, event_id) DO NOTHING",
                    consumer, envelope.id, iso(utc_now()))
                if fresh:
                    await sub.handler(tx, envelope, event)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if attempt >= sub.max_attempts:
                await self._give_up(sub, msg, envelope.id, envelope.type, error, attempt)
            else:
                delay = self.backoff[min(attempt, len(self.backoff)) - 1]
                log.warning("event_handler_failed", consumer=consumer, event_id=envelope.id,
                            attempt=attempt, retry_in=delay, error=error)
                await msg.nak(delay=delay)
            return
        self.crash_point("consumer.before_ack")  # committed with its inbox row, not acked
        await msg.ack()
        self.handled += 1

    async def _give_up(self, sub: Subscription, msg, event_id: str, event_type: str,
                       error: str, attempt: int) -> None:
        consumer = self.durable(sub)
        log.error("event_dead_lettered", consumer=consumer, event_id=event_id, error=error,
                  attempts=attempt)
        try:
            await dead_letter(self.js, consumer=consumer, subject=msg.subject, data=msg.data,
                              event_id=event_id, event_type=event_type, error=error,
                              attempts=attempt, stream=msg.metadata.stream,
                              stream_seq=msg.metadata.sequence.stream)
        except Exception as exc:  # not stored: leave it to be redelivered, never drop it
            log.error("dead_letter_failed", consumer=consumer, error=str(exc))
            await msg.nak(delay=self.backoff[-1])
            return
        await msg.ack()

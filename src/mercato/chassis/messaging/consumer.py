"""Durable, idempotent consumers: one JetStream pull consumer per subscription. The
messages of one fetch are handled in one transaction, each in a savepoint with its inbox
row (a failing one rolls back only its own), and acked after the commit. Each message is
handled in a consumer span (``delivery.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from pydantic import ValidationError

from mercato.chassis.clock import iso, utc_now
from mercato.chassis.data.db import Connection, Database, DatabaseUnavailable, TransactionLost
from mercato.chassis.faults import NO_FAULTS
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.delivery import Delivery, begin, end
from mercato.chassis.messaging.dlq import dead_letter
from mercato.chassis.messaging.durables import Durables
from mercato.chassis.messaging.subscription import Handler, NotYet, Subscription
from mercato.chassis.tasks import stop_tasks
from mercato.contracts.envelope import Envelope, Event

log = get_logger(__name__)
BACKOFF = (0.5, 2.0, 5.0, 15.0, 30.0)
SAVEPOINT = "consumer_message"
DUPLICATE_DROPPED = "event_duplicate_dropped"  # the log event of a delivery the inbox drops
__all__ = ["BACKOFF", "Consumers", "Handler", "NotYet", "Subscription"]


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
        self.duplicates: dict[str, int] = {}  # per durable: deliveries the inbox dropped
        self.durables = Durables(js, self.durable, ack_wait)  # made, and made again
        self._tasks: list[asyncio.Task] = []

    def durable(self, sub: Subscription) -> str:
        return f"{self.service}__{sub.name}"

    async def start(self) -> None:
        for sub in self.subscriptions:
            psub = await self.durables.bind(sub)
            self._tasks.append(asyncio.create_task(self._loop(sub, psub),
                                                   name=f"consume-{sub.name}"))

    def reconnected(self) -> None:
        """The broker connection came back: check each durable at the next idle moment."""
        self.durables.reconnected()

    async def stop(self) -> None:
        await stop_tasks(self._tasks)

    async def _loop(self, sub: Subscription, psub) -> None:
        while True:
            try:
                messages = await psub.fetch(self.batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                psub = await self.durables.rebind_if_lost(sub, psub)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_fetch_failed", subscription=sub.name, error=str(exc))
                await asyncio.sleep(1.0)
                psub = await self.durables.rebind_if_lost(sub, psub, now=True)
                continue
            try:
                await self.handle_batch(sub, messages)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. a dead letter's ack failed: redelivered later
                log.warning("consumer_batch_failed", subscription=sub.name,
                            error=f"{type(exc).__name__}: {exc}")

    async def handle(self, sub: Subscription, msg) -> None:
        await self.handle_batch(sub, [msg])

    async def handle_batch(self, sub: Subscription, messages: list) -> None:
        """Handle one fetch: unreadable messages go to the dead letters; the others run in
        one transaction (``own_transaction`` ones each on their own), then each is acked,
        nak'ed with its backoff, or dead-lettered after ``max_attempts``."""
        deliveries = [d for d in [await self._read(sub, msg) for msg in messages] if d]
        if not deliveries:
            return
        if sub.own_transaction:  # each handled and settled before the next
            for d in deliveries:
                token = begin(d, self.durable(sub))
                try:
                    await self._handle_outside(sub, self.durable(sub), d.envelope, d.event)
                except Exception as exc:
                    d.error = exc
                finally:
                    end(d, token)
                await self._settle_logged(sub, d)
            return
        if sub.batched:
            await self._in_batch(sub, deliveries)
        else:  # each in a transaction of its own (Subscription.batched)
            for d in deliveries:
                await self._alone(sub, d)
        for d in deliveries:
            await self._settle_logged(sub, d)

    async def _in_batch(self, sub: Subscription, deliveries: list[Delivery]) -> None:
        try:
            await self._in_one_transaction(sub, deliveries)
        except Exception as exc:
            if len(deliveries) == 1 or isinstance(exc, DatabaseUnavailable):
                for d in deliveries:  # alone, each would wait out the same database
                    d.error = exc
            else:  # nothing committed (e.g. a handler broke the transaction): each alone
                log.warning("consumer_batch_failed", subscription=sub.name,
                            messages=len(deliveries), error=f"{type(exc).__name__}: {exc}")
                for d in deliveries:
                    d.error = None
                    await self._alone(sub, d)

    async def _alone(self, sub: Subscription, d: Delivery) -> None:
        try:
            await self._in_one_transaction(sub, [d])
        except Exception as exc:
            d.error = exc

    async def _settle_logged(self, sub: Subscription, d: Delivery) -> None:
        try:
            await self._settle(sub, d)
        except Exception as exc:  # e.g. the ack failed: redelivered after ack_wait
            log.warning("consumer_message_failed", subscription=sub.name,
                        error=f"{type(exc).__name__}: {exc}")

    async def _read(self, sub: Subscription, msg) -> Delivery | None:
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        envelope = None
        try:
            envelope = Envelope.model_validate_json(msg.data)
            event_type = next((e for e in sub.events if e.type_name() == envelope.type), None)
            if event_type is None:
                raise ValueError(f"{self.durable(sub)} does not handle {envelope.type}")
            return Delivery(msg, envelope, event_type.model_validate(envelope.payload),
                             attempt)
        except (ValidationError, ValueError) as exc:
            # Unreadable: no retry can help. Straight to the dead letters.
            try:
                await self._give_up(sub, msg, envelope.id if envelope else "?",
                                    envelope.type if envelope else "?",
                                    f"unreadable message: {exc}", attempt)
            except Exception as failed:  # its ack: redelivered after ack_wait
                log.warning("consumer_message_failed", subscription=sub.name,
                            error=f"{type(failed).__name__}: {failed}")
            return None

    async def _in_one_transaction(self, sub: Subscription, deliveries: list[Delivery]) -> None:
        """Each delivery in a savepoint of the one transaction; a handler's failure rolls
        back its savepoint and the after-commit callbacks it registered, and is kept on
        the delivery. Raises (nothing committed) if the transaction itself fails, and
        when a lone delivery's handler fails (its transaction is its savepoint)."""
        consumer = self.durable(sub)
        if len(deliveries) == 1:  # its transaction is a span within its consumer span
            d = deliveries[0]
            token = begin(d, self.durable(sub))
            try:
                async with self.db.transaction(traced=False) as tx:
                    if await self._first_time(tx, consumer, d.envelope):
                        await sub.handler(tx, d.envelope, d.event)
            except Exception as exc:
                d.error = exc
                raise
            finally:
                end(d, token)
            return
        async with self.db.transaction(traced=False) as tx:
            callbacks = getattr(tx, "after_commit", [])
            for d in deliveries:
                token = begin(d, self.durable(sub))
                registered = len(callbacks)
                try:
                    async with tx.savepoint(SAVEPOINT):  # a failure undoes this one only
                        if await self._first_time(tx, consumer, d.envelope):
                            await sub.handler(tx, d.envelope, d.event)
                except TransactionLost:
                    raise  # the whole batch is gone: one transaction per message instead
                except Exception as exc:
                    del callbacks[registered:]
                    d.error = exc
                finally:
                    end(d, token)

    async def _settle(self, sub: Subscription, d: Delivery) -> None:
        if d.error is None:
            self.crash_point("consumer.before_ack")  # committed with its inbox row, not acked
            await d.msg.ack()
            self.handled += 1
            return
        error = f"{type(d.error).__name__}: {d.error}"
        # The database refusing (locked, full, unreachable) says nothing of the message:
        # it is tried again however often, never dead-lettered for it (a deadlock every
        # time does say something: DatabaseDeadlock does not heal by itself).
        if d.attempt >= sub.max_attempts and not getattr(d.error, "heals_itself", False):
            await self._give_up(sub, d.msg, d.envelope.id, d.envelope.type, error, d.attempt)
            return
        delay = self.backoff[min(d.attempt, len(self.backoff)) - 1]
        (log.info if isinstance(d.error, NotYet) else log.warning)(
            "event_handler_failed", consumer=self.durable(sub), event_id=d.envelope.id,
            attempt=d.attempt, retry_in=delay, error=error)
        await d.msg.nak(delay=delay)

    async def _first_time(self, tx: Connection, consumer: str, envelope: Envelope) -> bool:
        """Record the event in the inbox; False, counted and logged, if it was there
        already (a duplicate delivery: a re-publish, a redelivery after a lost ack)."""
        if await self._remember(tx, consumer, envelope.id):
            return True
        self._duplicate(consumer, envelope)
        return False

    def _duplicate(self, consumer: str, envelope: Envelope) -> None:
        self.duplicates[consumer] = self.duplicates.get(consumer, 0) + 1
        log.info(DUPLICATE_DROPPED, consumer=consumer, event_id=envelope.id,
                 event_type=envelope.type)

    @staticmethod
    async def _remember(tx: Connection, consumer: str, event_id: str) -> bool:
        """Record the event in the inbox; False if it was there already."""
        return bool(await tx.execute(
            "INSERT INTO inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)"
            " ON CONFLICT (consumer, event_id) DO NOTHING",
            consumer, event_id, iso(utc_now())))

    async def _handle_outside(self, sub: Subscription, consumer: str, envelope: Envelope,
                              event: Event) -> None:
        if await self.db.fetch_one("SELECT 1 FROM inbox WHERE consumer = ? AND event_id = ?",
                                   consumer, envelope.id):
            self._duplicate(consumer, envelope)
            return
        await sub.handler(None, envelope, event)
        async with self.db.transaction(traced=False) as tx:
            await self._remember(tx, consumer, envelope.id)

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

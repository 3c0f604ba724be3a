"""Events every instance of a service hears (``Broadcast``), from the moment it starts:
for what each process keeps of its own (a cache to drop entries from), not for work to do
once. Each is an ephemeral *ordered* JetStream push consumer per event type, delivering
new messages only, without acks, inbox or retries; the broker forgets it once its process
is gone. A durable consumer would give each event to one instance only (consumer.py).

The client re-creates an ordered consumer after a gap or two missed heartbeats (a broker
restart, a lost connection), from the message after the last it saw. What is missed even
so (the broker lost its store) is the listener's to bound, e.g. by a cache's TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from pydantic import ValidationError

from mercato.chassis.logging import get_logger
from mercato.contracts.envelope import Envelope, Event, stream_for

log = get_logger(__name__)
Listener = Callable[[Envelope, Event], Awaitable[None]]


@dataclass(frozen=True)
class Broadcast:
    """Events of one publisher that every instance hears, and what each does with them."""

    name: str
    events: tuple[type[Event], ...]
    handler: Listener

    @property
    def source(self) -> str:
        sources = {e.SOURCE for e in self.events}
        if len(sources) != 1:
            raise ValueError(f"broadcast {self.name} mixes publishers {sorted(sources)}")
        return sources.pop()


class Broadcasts:
    """Runs every ``Broadcast`` of one process until stopped."""

    def __init__(self, js: JetStreamContext, broadcasts: list[Broadcast]) -> None:
        self.js, self.broadcasts = js, broadcasts
        self.heard = 0  # events handled
        self._subs: list = []

    async def start(self) -> None:
        """One ordered consumer per event type (its stream must exist), new events only."""
        for b in self.broadcasts:
            for event_type in b.events:
                self._subs.append(await self.js.subscribe(
                    event_type.subject(), stream=stream_for(b.source), ordered_consumer=True,
                    deliver_policy=DeliverPolicy.NEW, cb=self._callback(b, event_type)))

    def _callback(self, b: Broadcast, event_type: type[Event]) -> Callable:
        async def on_message(msg) -> None:
            try:
                envelope = Envelope.model_validate_json(msg.data)
                event = event_type.model_validate(envelope.payload)
            except (ValidationError, ValueError) as exc:  # the durables dead-letter it
                log.warning("broadcast_unreadable", broadcast=b.name, error=str(exc))
                return
            try:
                await b.handler(envelope, event)
                self.heard += 1
            except Exception as exc:  # nothing to retry: the next event goes on
                log.warning("broadcast_handler_failed", broadcast=b.name,
                            event_id=envelope.id, error=f"{type(exc).__name__}: {exc}")
        return on_message

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sub.unsubscribe(), 1.0)
        self._subs.clear()

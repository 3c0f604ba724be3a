"""What a service consumes (``Subscription``) and the handler's way to say "not yet"
(``NotYet``); run by ``Consumers`` in ``consumer.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mercato.chassis.data.db import Connection
from mercato.contracts.envelope import Envelope, Event

Handler = Callable[[Connection | None, Envelope, Event], Awaitable[None]]


class NotYet(Exception):
    """Raised by a handler whose event came before one it depends on (from another
    stream, so in no particular order): redelivered after the backoff, logged quietly."""


@dataclass(frozen=True)
class Subscription:
    """What a service consumes: events of one publisher, and the handler for them.

    By default the handler runs inside the transaction that records the event in the inbox
    and gets that connection; the messages of one fetch share that transaction, each in a
    savepoint of its own, so the handler must not commit and a failure undoes only its own
    message. With ``own_transaction`` it gets ``None`` and opens its own transactions (a
    command that calls out between them, e.g. to a card provider); it must then be
    idempotent by itself, since a crash after its commit and before the inbox row
    redelivers the event. ``saga_mode`` ties it to one checkout mode
    (``MERCATO_SAGA_MODE``): it is consumed only while the platform runs in that mode.
    ``batched=False`` gives each message a transaction of its own (still with its inbox
    row): for a handler that takes a store-wide lock (orders' event store), which a shared
    transaction would keep while the next message waits for row locks other writers hold,
    a deadlock on PostgreSQL.
    """

    name: str
    events: tuple[type[Event], ...]
    handler: Handler
    max_attempts: int = 5
    own_transaction: bool = False
    saga_mode: str | None = None
    batched: bool = True

    @property
    def source(self) -> str:
        sources = {e.SOURCE for e in self.events}
        if len(sources) != 1:
            raise ValueError(f"subscription {self.name} mixes publishers {sorted(sources)}")
        return sources.pop()


def choreographed(name: str, events: tuple[type[Event], ...], handler: Handler, *,
                  own_transaction: bool = True, batched: bool = True) -> Subscription:
    """A reaction of the choreographed checkout (docs/choreography.md): consumed only in
    that mode, tried up to 20 times (a NotYet waits for an event from another stream), and
    by default a participant's command that opens its own transactions."""
    return Subscription(name, events, handler, max_attempts=20,
                        own_transaction=own_transaction, saga_mode="choreography",
                        batched=batched)

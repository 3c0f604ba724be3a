"""The outbox seen from a test: what a service wrote to it, and an outbox that fails after
writing, to show that the write rolls back with everything else in its transaction."""

from __future__ import annotations

from collections.abc import Container

from mercato.chassis.data.db import Database
from mercato.chassis.messaging import Outbox
from mercato.contracts import Envelope, Event, all_events


async def outbox_envelopes(db: Database) -> list[Envelope]:
    """The envelope of every outbox row, in outbox order; each row's id and subject
    columns must be its envelope's."""
    rows = await db.fetch_all("SELECT id, subject, body FROM outbox ORDER BY seq")
    envelopes = []
    for row in rows:
        envelope = Envelope.model_validate_json(row["body"])
        assert (row["id"], row["subject"]) == (envelope.id, envelope.subject)
        envelopes.append(envelope)
    return envelopes


async def outbox_events(db: Database) -> list[tuple[Envelope, Event]]:
    """Every outbox row, in order, decoded as a consumer would: the envelope, then the
    payload validated against the contract class named by its type."""
    return [(envelope, all_events()[envelope.type].model_validate(envelope.payload))
            for envelope in await outbox_envelopes(db)]


class _EveryEvent:
    """Contains every event type name."""

    def __contains__(self, type_name: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "EVERY_EVENT"


EVERY_EVENT: Container[str] = _EveryEvent()


class FailsAfterWriting:
    """An outbox (mixed in before the class) that writes the event row, then fails for
    the event types in ``fail_on`` (none unless told; ``EVERY_EVENT`` for all): everything
    in that transaction must roll back.

    ``fail_on`` may be given when the outbox is made or assigned later, so a test can
    arm it after setting up and disarm it (``frozenset()``) to retry."""

    def __init__(self, db, source: str, *, fail_on: Container[str] = frozenset(),
                 **kwargs) -> None:
        super().__init__(db, source, **kwargs)
        self.fail_on = fail_on

    async def add(self, tx, event, **kwargs):
        envelope = await super().add(tx, event, **kwargs)
        if event.type_name() in self.fail_on:
            raise RuntimeError(f"the outbox failed after writing {event.type_name()}")
        return envelope


class ExplodingOutbox(FailsAfterWriting, Outbox):
    """The chassis outbox, failing after writing (``FailsAfterWriting``)."""

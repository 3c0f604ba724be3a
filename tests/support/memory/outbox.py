"""The chassis ``Outbox`` on ``MemoryDatabase``: the same envelopes (ids, subjects, trace
context, the check that a service publishes only its own events), kept in a list that
rolls back with the rest of the transaction, for handler tests without a database."""

from __future__ import annotations

from typing import Any

from mercato.chassis.clock import Clock, IdFactory, new_id, utc_now
from mercato.chassis.messaging import Outbox
from mercato.contracts import Envelope, Event, all_events
from tests.support.memory import MemoryDatabase
from tests.support.outbox import FailsAfterWriting


class MemoryOutbox(Outbox):
    """``Outbox`` whose rows are ``(envelope, published)`` pairs in memory."""

    def __init__(self, db: MemoryDatabase, source: str, *, clock: Clock = utc_now,
                 new_event_id: IdFactory = new_id) -> None:
        super().__init__(db, source, clock=clock, new_event_id=new_event_id)  # type: ignore[arg-type]
        self._rows: list[list[Any]] = []  # [envelope, published]
        db.attach(self)

    def snapshot(self) -> list[list[Any]]:
        return self._rows

    def restore(self, state: list[list[Any]]) -> None:
        self._rows = state

    async def _store(self, tx: Any, envelope: Envelope) -> None:
        if all(row[0].id != envelope.id for row in self._rows):  # ON CONFLICT DO NOTHING
            self._rows.append([envelope, False])

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope written by a committed transaction, in order."""
        return [row[0] for row in self._rows]

    def events(self) -> list[tuple[Envelope, Event]]:
        """Each envelope with its payload decoded as a consumer would."""
        return [(e, all_events()[e.type].model_validate(e.payload)) for e in self.envelopes]

    async def pending(self, limit: int) -> list[dict]:
        return [{"seq": n, "id": e.id, "subject": e.subject,
                 "body": e.model_dump_json().encode(), "traceparent": e.traceparent}
                for n, (e, sent) in enumerate(self._rows) if not sent][:limit]

    async def mark_published(self, seqs: list[int]) -> None:
        for seq in seqs:
            self._rows[seq][1] = True

    async def unpublished(self, first: int = 5) -> dict:
        waiting = [e for e, sent in self._rows if not sent]
        return {"pending": len(waiting),
                "first": [{"id": e.id, "subject": e.subject} for e in waiting[:first]]}

    async def count_pending(self) -> int:
        return sum(1 for _e, sent in self._rows if not sent)


class ExplodingMemoryOutbox(FailsAfterWriting, MemoryOutbox):
    """The in-memory outbox, failing after writing the types in ``fail_on``
    (tests/support/outbox.py ``FailsAfterWriting``)."""

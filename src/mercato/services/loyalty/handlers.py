"""Loyalty events and queries: credit a delivered order, reverse a refunded one, read a
customer's ledger.

Each event is handled in the consumer's transaction, with its inbox row: a redelivered
event is never handled twice, and the ledger's one entry per (order, kind) makes a replay
under another event id (a dead letter replayed) change nothing either. Every stored entry
publishes LoyaltyPointsChanged through the outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection, Database
from mercato.chassis.messaging import Outbox
from mercato.contracts.envelope import Envelope
from mercato.contracts.loyalty import LedgerEntry, LoyaltyPointsChanged
from mercato.contracts.orders import OrderDelivered, OrderRefunded
from mercato.services.loyalty.domain import Entry, credit, reversal
from mercato.services.loyalty.ports import LedgerRepository


@dataclass(frozen=True)
class Page:
    """A customer's balance and one page of their entries, newest first; ``next`` is the
    cursor of the following page (None on the last)."""

    balance: int
    entries: list[Entry]
    next: int | None


@dataclass
class Loyalty:
    """The loyalty handlers, with their dependencies."""

    ledger: LedgerRepository
    outbox: Outbox
    clock: Clock

    @property
    def db(self) -> Database:
        return self.ledger.db

    async def on_order_delivered(self, tx: Connection, envelope: Envelope,
                                 event: OrderDelivered) -> None:
        await tx.lock(f"loyalty:{event.customer_id}")
        entry = credit(event.customer_id, event.order_id, envelope.id, event.total,
                       event.currency, iso(self.clock()),
                       await self.ledger.of_order(tx, event.order_id))
        await self._record(tx, entry)

    async def on_order_refunded(self, tx: Connection, envelope: Envelope,
                                event: OrderRefunded) -> None:
        await tx.lock(f"loyalty:{event.customer_id}")
        current, _ = await self.ledger.standing(tx, event.customer_id)
        entry = reversal(event.customer_id, event.order_id, envelope.id, iso(self.clock()),
                         await self.ledger.of_order(tx, event.order_id), current)
        await self._record(tx, entry)

    async def _record(self, tx: Connection, entry: Entry | None) -> None:
        if entry is None or not await self.ledger.add(tx, entry):
            return
        balance, count = await self.ledger.standing(tx, entry.customer_id)
        await self.outbox.add(tx, LoyaltyPointsChanged(
            customer_id=entry.customer_id, balance=balance, sequence=count,
            entry=LedgerEntry(order_id=entry.order_id, kind=entry.kind.value,
                              points=entry.points, cause_event_id=entry.cause_event_id,
                              at=entry.at)), event_id=entry.id, causation_id=entry.cause_event_id)

    async def ledger_of(self, customer_id: str, limit: int, before: int | None = None) -> Page:
        found = await self.ledger.history(customer_id, limit + 1, before)
        more = len(found) > limit
        found = found[:limit]
        return Page(await self.ledger.balance_of(customer_id), [e for _, e in found],
                    found[-1][0] if more else None)

    async def facts(self) -> dict:
        """What ``mercato verify`` reads of loyalty: every entry's order, kind and points."""
        return {"entries": await self.ledger.summaries()}

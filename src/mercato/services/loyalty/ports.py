"""What the loyalty handlers need from the world, as a Protocol: the ledger. The SQL
adapter (``store.py``) implements it; the handlers' tests run on an in-memory fake
(tests/support/memory/loyalty.py), and the repository's contract tests
(tests/db_contract/test_loyalty_repository.py) hold both to the same behaviour."""

from __future__ import annotations

from typing import Protocol

from mercato.chassis.data import Connection, Database
from mercato.services.loyalty.domain import Entry


class LedgerRepository(Protocol):
    """Every entry of every customer's ledger. Writes and the reads they decide on take
    the caller's transaction (``tx``); the reads outside a unit of work go through ``db``."""

    db: Database

    async def of_order(self, tx: Connection, order_id: str) -> list[Entry]:
        """The order's entries (at most a credit and a reversal), oldest first."""
        ...

    async def standing(self, tx: Connection, customer_id: str) -> tuple[int, int]:
        """The customer's balance (the sum of their entries) and how many entries they have."""
        ...

    async def add(self, tx: Connection, entry: Entry) -> bool:
        """Store ``entry`` unless its order has an entry of its kind already; True if stored."""
        ...

    async def history(self, customer_id: str, limit: int,
                      before: int | None = None) -> list[tuple[int, Entry]]:
        """At most ``limit`` of the customer's entries, newest first, each with its position
        (a cursor: the next page is ``before`` the last one's)."""
        ...

    async def balance_of(self, customer_id: str) -> int:
        """The customer's balance, outside any unit of work (0 with no entries)."""
        ...

    async def summaries(self) -> list[dict]:
        """Every entry's order, kind and points: what ``mercato verify`` reads."""
        ...

"""What the inventory's handlers need from the world, as Protocols: its two repositories
(stock with its adjustments ledger, and reservations) and the catalog. The adapters
(``store.py``, ``catalog_client.py``) implement them; the handlers' tests run on in-memory
fakes of the same Protocols (tests/support/memory), and the repositories' contract tests
hold every implementation to the same behaviour."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mercato.chassis.data import Connection, Row
from mercato.services.inventory.domain import Line, Reservation, Status, Stock

# Which figure a reservation step takes units from and which it gives them to.
MOVES = {
    "reserve": ("available", "reserved"),
    "commit": ("reserved", "sold"),
    "release": ("reserved", "available"),
    "return": ("sold", "available"),
}


@dataclass(frozen=True)
class StoredAdjustment:
    """An adjustment kept under its idempotency key: what it was asked, what it left."""

    fingerprint: str
    result: Stock


class StockRepository(Protocol):
    """Each product's stock figures and the ledger of manual adjustments to them. Writes
    take the caller's transaction (``tx``). No write ever leaves a figure negative: a
    change that would is not made, and the write says so (``False``)."""

    async def get(self, product_id: str, tx: Connection | None = None) -> Stock | None:
        """The product's stock (in ``tx`` when given); None if it has no record."""
        ...

    async def units_reserved(self) -> int:
        """Units of stock reservations hold now, every product together."""
        ...

    async def levels(self, tx: Connection) -> list[Row]:
        """Every product's figures (``product_id``, ``on_hand``, ``available``, ``reserved``,
        ``sold``) by product id, for ``mercato verify``."""
        ...

    async def lock(self, tx: Connection, product_ids: Iterable[str]) -> None:
        """Hold these products' stock against other writers until ``tx`` ends, taken in
        product id order so that two transactions never wait on each other."""
        ...

    async def create(self, tx: Connection, product_id: str, at: str) -> None:
        """A record of zeros, unless the product has one already (then nothing changes)."""
        ...

    async def adjust(self, tx: Connection, product_id: str, delta: int, at: str) -> bool:
        """Change on_hand and available by ``delta``; nothing (False) if available would go
        negative or the product has no record."""
        ...

    async def move(self, tx: Connection, step: str, product_id: str, quantity: int,
                   at: str) -> bool:
        """Move ``quantity`` units between the figures of ``step`` (``MOVES``); nothing
        (False) if the source figure holds fewer or the product has no record."""
        ...

    async def move_all(self, tx: Connection, step: str, lines: Sequence[Line],
                       at: str) -> list[Line]:
        """Move every line's units for ``step``, or none of them: the lines whose units are
        not there (every one of them, in order), and an empty list when all moved."""
        ...

    async def find_adjustment(self, key: str, tx: Connection | None = None
                              ) -> StoredAdjustment | None:
        """The adjustment recorded under idempotency key ``key``, if any."""
        ...

    async def record_adjustment(self, tx: Connection, *, adjustment_id: str,
                                product_id: str, delta: int, reason: str, actor: str,
                                key: str | None, fingerprint: str, result: Stock,
                                at: str) -> None:
        """Add an adjustment to the ledger; ``Conflict`` if its id or its key is there."""
        ...


class ReservationRepository(Protocol):
    """Reservations of stock for a checkout, with their lines, refusals and tombstones.
    Writes take the caller's transaction (``tx``)."""

    async def get(self, reservation_id: str, tx: Connection | None = None
                  ) -> Reservation | None:
        """The reservation with its lines in their order (in ``tx`` when given), or None."""
        ...

    async def due(self, before: str, limit: int) -> list[str]:
        """Ids of reservations still ``reserved`` whose ``expires_at`` sorts before
        ``before`` (ISO text), oldest deadline first (then by id), at most ``limit``."""
        ...

    async def held(self) -> int:
        """Reservations holding stock now (status ``reserved``)."""
        ...

    async def add(self, tx: Connection, r: Reservation) -> None:
        """Store a new reservation and its lines; ``Conflict`` if its id is taken."""
        ...

    async def listed(self, tx: Connection) -> list[dict]:
        """Every reservation but the tombstones, by id, with its items in order (for
        ``mercato verify``): ``reservation_id``, ``order_id``, ``status``, ``items``."""
        ...

    async def set_status(self, tx: Connection, reservation_id: str, status: Status,
                         at: str) -> None:
        """Change a reservation's status; nothing if there is no such reservation."""
        ...


class CatalogUnavailable(Exception):
    """The catalog could not answer; the caller should try again later."""


class ProductCatalog(Protocol):
    async def exists(self, product_id: str) -> bool:
        """Whether the catalog knows the product."""
        ...

"""What shipping's handlers, courier and checkout reactions need from the world, as a
Protocol: its repository. The adapter (``store.py``) implements it; the handlers' tests run
on an in-memory fake of the same Protocol (tests/support/memory), and the repository's
contract tests hold every implementation to the same behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from mercato.chassis.data import Connection, Row
from mercato.services.shipping.domain import Shipment


class Tombstoned(Exception):
    """The shipment id was cancelled before it was ever scheduled."""


class TrackingNumberTaken(Exception):
    """The generated tracking number is already in use (astronomically rare)."""


@dataclass(frozen=True)
class CheckoutIntent:
    """What OrderPlaced said of an order's shipment, kept until its payment is authorized:
    the customer, the address and lines as the event gave them, and the checkout mode."""

    customer_id: str
    address: dict[str, Any]
    items: list[dict[str, Any]]
    checkout: str


class ShipmentRepository(Protocol):
    """Shipments, the tombstones of cancels that came first, and the checkout intents of
    choreographed orders. Writes take the caller's transaction (``tx``): the handler stores
    a change and the event about it together; reads stand alone or join a ``tx``."""

    async def summaries(self) -> list[Row]:
        """Every shipment's ``shipment_id``, ``order_id`` and ``status``, oldest first."""
        ...

    async def get(self, shipment_id: str, tx: Connection | None = None) -> Shipment | None:
        """The shipment (in ``tx`` when given), or None."""
        ...

    async def is_tombstoned(self, shipment_id: str) -> bool:
        """Whether ``shipment_id`` was cancelled before it was ever scheduled."""
        ...

    async def for_order(self, order_id: str) -> list[Shipment]:
        """The order's shipments, oldest first (ties by id)."""
        ...

    async def add(self, tx: Connection, shipment: Shipment) -> tuple[Shipment, bool]:
        """Store a new shipment (and True); the one already stored under its id (and False).
        Raises ``Tombstoned`` for a cancelled id, ``TrackingNumberTaken`` for a tracking
        number another shipment has; either way the transaction can go on."""
        ...

    async def lock(self, tx: Connection, shipment_id: str) -> None:
        """Hold the shipment's critical section until ``tx`` ends (before a deciding read)."""
        ...

    async def add_tombstone(self, tx: Connection, shipment_id: str, at: str) -> None:
        """Remember that ``shipment_id`` was cancelled first; a repeat changes nothing."""
        ...

    async def save_status(self, tx: Connection, shipment: Shipment) -> None:
        """Overwrite the shipment's status, ``updated_at`` and ``due_at``."""
        ...

    async def save_move(self, tx: Connection, before: Shipment, after: Shipment) -> bool:
        """Store ``after``'s status, times and due time if the stored shipment still has
        ``before``'s status and due time (compare-and-set); True if stored."""
        ...

    async def due(self, at: str, limit: int) -> list[str]:
        """Ids of at most ``limit`` shipments due by ``at`` (a ``stamp``), earliest first."""
        ...

    async def next_due(self) -> str | None:
        """The earliest due time of any shipment (a ``stamp``), or None."""
        ...

    async def add_checkout_intent(self, tx: Connection, order_id: str,
                                  intent: CheckoutIntent, at: str) -> None:
        """Keep the order's intent; the first one kept stays (a repeat changes nothing)."""
        ...

    async def checkout_intent(self, order_id: str) -> CheckoutIntent | None:
        """The order's kept intent, or None if OrderPlaced was not heard yet."""
        ...

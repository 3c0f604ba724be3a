"""Events published by inventory."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mercato.contracts.envelope import Event


class StockLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    product_id: str
    quantity: int


class StockAdjusted(Event):
    """An admin changed the stock on hand of a product."""

    SOURCE = "inventory"
    product_id: str
    delta: int
    on_hand: int
    available: int
    reason: str


class StockReserved(Event):
    """Stock was set aside for an order (available -> reserved), all items or none."""

    SOURCE = "inventory"
    reservation_id: str
    order_id: str
    items: list[StockLine]


class StockReservationFailed(Event):
    """A reservation was refused: not enough stock (or unknown products) for its lines."""

    SOURCE = "inventory"
    reservation_id: str
    order_id: str
    items: list[StockLine]
    reason: str = "out_of_stock"
    detail: str = ""


class StockReleased(Event):
    """A reservation was given up (reserved -> available). ``reason``: "released" when the
    checkout gave it up, "expired" when it was held past its deadline (None from
    publishers older than the field)."""

    SOURCE = "inventory"
    reservation_id: str
    order_id: str
    items: list[StockLine]
    reason: str | None = None


class StockCommitted(Event):
    """Reserved goods were sold."""

    SOURCE = "inventory"
    reservation_id: str
    order_id: str
    items: list[StockLine]


class StockReturned(Event):
    """Sold goods came back (a confirmed order was cancelled)."""

    SOURCE = "inventory"
    reservation_id: str
    order_id: str
    items: list[StockLine]


class InventoryCheckoutUndone(Event):
    """Inventory's part of a cancelled checkout is undone. ``outcome``: "released" (stock
    back to available), "returned" (sold goods back), or "nothing" (nothing was held; a
    late reservation for the order will be refused)."""

    SOURCE = "inventory"
    order_id: str
    reservation_id: str
    outcome: str

"""Events published by the catalog."""

from __future__ import annotations

from mercato.contracts.envelope import Event


class ProductCreated(Event):
    """A product was added to the catalog."""

    SOURCE = "catalog"
    product_id: str
    sku: str
    name: str
    category: str
    price: int
    currency: str


class ProductUpdated(Event):
    """Some fields of a product changed; ``changes`` holds their new values."""

    SOURCE = "catalog"
    product_id: str
    changes: dict[str, str | int]

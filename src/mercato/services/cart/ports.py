"""What the cart's handlers need from the world, as Protocols: its repository and the
catalog. The adapters (``store.py``, ``catalog_client.py``) implement them; the handlers'
tests run on in-memory fakes of the same Protocols (tests/support/memory), and the
repository's contract tests hold every implementation to the same behaviour."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mercato.chassis.data import Connection
from mercato.services.cart.domain import Cart, Product


class CartRepository(Protocol):
    """Carts and their lines. Writes take the caller's transaction (``tx``): the handler
    opens one unit of work and reads, decides and writes a cart in it."""

    async def get(self, user_id: str, tx: Connection | None = None) -> Cart:
        """The user's cart (in ``tx`` when given); an empty one if they have none."""
        ...

    async def open(self, tx: Connection, user_id: str, currency: str, at: str) -> None:
        """Start the user's cart in ``currency``."""
        ...

    async def put_line(self, tx: Connection, user_id: str, product_id: str, quantity: int,
                       at: str) -> None:
        """Set a line's quantity, adding the line at the end if it is new."""
        ...

    async def remove_line(self, tx: Connection, user_id: str, product_id: str,
                          at: str) -> None:
        """Drop a line; the last one gone, the cart goes too, and with it its currency."""
        ...

    async def clear(self, tx: Connection, user_id: str) -> None:
        """Drop the cart and every line of it."""
        ...


class CatalogUnavailable(Exception):
    """The catalog could not answer; the caller should try again later."""


class ProductCatalog(Protocol):
    async def lookup(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """The known products among ``product_ids``; unknown ones are absent."""
        ...

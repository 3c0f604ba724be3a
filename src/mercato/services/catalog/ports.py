"""What the catalog's handlers need from the world, as a Protocol: its product repository.
The adapter (``store.py``) implements it; the handlers' tests run on an in-memory fake of
the same Protocol (tests/support/memory), and the repository's contract tests hold every
implementation to the same behaviour."""

from __future__ import annotations

from typing import Protocol

from mercato.chassis.data import Connection
from mercato.services.catalog.domain import Product


class BadCursor(ValueError):
    """A search was given a cursor that no search returned."""


class ProductRepository(Protocol):
    """Products. Writes take the caller's transaction (``tx``), so a handler stores a
    product and the event about it together; reads stand alone or join a ``tx``."""

    async def get(self, product_id: str, tx: Connection | None = None) -> Product | None:
        """The product (in ``tx`` when given), or None if there is none of that id."""
        ...

    async def get_many(self, product_ids: list[str]) -> list[Product]:
        """The products of ``product_ids`` that exist, in no promised order (at most 500)."""
        ...

    async def add(self, tx: Connection, product: Product) -> None:
        """Store a new product; ``DuplicateSku`` if its SKU (or its id) is taken."""
        ...

    async def save(self, tx: Connection, product: Product) -> None:
        """Overwrite the product of that id, if any; ``DuplicateSku`` if another has its SKU."""
        ...

    async def search(
        self, *, text: str | None, category: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Product], str | None]:
        """A page of at most ``limit`` products by name then id: ``text`` (a SQL ``LIKE``
        fragment, case ignored) in the name or description, of ``category`` when given,
        after ``cursor``; with the next page's cursor, None on the last (``BadCursor``)."""
        ...

    async def categories(self) -> list[tuple[str, int]]:
        """Every category with how many products it has, by name."""
        ...

"""What the catalog's handlers need from the world, as Protocols: its product repository
and the cache in front of it. The adapters (``store.py``, ``cache.py``, ``cache_redis.py``)
implement them; the handlers' tests run on an in-memory fake of the repository
(tests/support/memory), and contract tests hold every implementation to the same
behaviour (tests/db_contract for the repository, tests/unit/catalog for the caches)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Page:
    """One answer of ``ProductRepository.search``, as the cache keeps it."""

    items: tuple[Product, ...]
    next_cursor: str | None


class ProductCache(Protocol):
    """Products by id and search pages, kept a while in front of the repository
    (cache-aside: the handlers read here first, fill it from the store on a miss, and drop
    what a change makes stale). A cache that fails answers a miss; it never fails a read.
    Every entry lives at most the cache's TTL, which bounds staleness if a drop is lost."""

    async def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        """The cached products of ``product_ids``, by id (misses are absent)."""
        ...

    async def put(self, products: list[Product]) -> None:
        """Keep ``products`` (each under its id)."""
        ...

    async def drop(self, product_ids: list[str]) -> None:
        """Forget ``product_ids`` and every search page (any change may move a product
        into or out of any page: pages are cheap to rebuild, a precise index is not)."""
        ...

    async def get_page(self, key: str) -> Page | None:
        """The search page cached under ``key`` (``page_key``), or None."""
        ...

    async def put_page(self, key: str, page: Page) -> None:
        """Keep ``page`` under ``key``."""
        ...


def page_key(text: str | None, category: str | None, limit: int, cursor: str | None) -> str:
    """A search's normalised query: the same for searches the store answers alike (the
    text is matched case-insensitively, so it is lower-cased; blanks mean no filter)."""
    return "\x1f".join([(text or "").lower(), category or "", str(limit), cursor or ""])

"""The catalog's cache in this process (``ProductCache`` in ports.py): two bounded LRU maps
whose entries expire (``cachetools.TTLCache``), one of products by id, one of search
pages; and ``NoProductCache``, which keeps nothing (``MERCATO_CATALOG_CACHE_TTL=0``, and
the benchmark's baseline)."""

from __future__ import annotations

import time
from collections.abc import Callable

from cachetools import TTLCache

from mercato.services.catalog.domain import Product
from mercato.services.catalog.ports import Page

MISSES_REMEMBERED = 10_000  # misses whose generation is kept until their entry is put


class Misses:
    """The cache's generation (one more at every drop) as each miss saw it: an entry read
    from the store after a miss is kept only if nothing was dropped since, so a slow
    reader never stores what a change made stale meanwhile. The first miss of a key wins
    until its entry is put: a later one never vouches for an earlier reader's value."""

    def __init__(self) -> None:
        self.generation = 0
        self._seen: dict[str, int] = {}

    def missed(self, key: str, generation: int | None = None) -> None:
        if len(self._seen) >= MISSES_REMEMBERED:
            self._seen.clear()  # only costs fills: nothing unvouched is ever stored
        self._seen.setdefault(key, self.generation if generation is None else generation)

    def fresh(self, key: str) -> bool:
        """True once if ``key`` missed and nothing was dropped since."""
        return self.take(key) == self.generation

    def take(self, key: str) -> int | None:
        """The generation ``key``'s first miss saw (None: no miss), forgotten."""
        return self._seen.pop(key, None)


class MemoryProductCache:
    """Products and pages of this instance, each for ``ttl`` seconds, at most ``products``
    and ``pages`` of them (the least recently used go first)."""

    def __init__(self, ttl: float, *, products: int = 10_000, pages: int = 1_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._products: TTLCache[str, Product] = TTLCache(products, ttl, timer=clock)
        self._pages: TTLCache[str, Page] = TTLCache(pages, ttl, timer=clock)
        # apart: a new product (a drop of pages only) never costs a product's fill
        self._product_misses, self._page_misses = Misses(), Misses()

    async def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        found = {}
        for pid in product_ids:
            product = self._products.get(pid)
            if product is None:
                self._product_misses.missed(pid)
            else:
                found[pid] = product
        return found

    async def put(self, products: list[Product]) -> None:
        for product in products:
            if self._product_misses.fresh(product.id):
                self._products[product.id] = product

    async def drop(self, product_ids: list[str]) -> None:
        if product_ids:
            self._product_misses.generation += 1
        for pid in product_ids:
            self._products.pop(pid, None)
        self._page_misses.generation += 1
        self._pages.clear()

    async def get_page(self, key: str) -> Page | None:
        page = self._pages.get(key)
        if page is None:
            self._page_misses.missed(key)
        return page

    async def put_page(self, key: str, page: Page) -> None:
        if self._page_misses.fresh(key):
            self._pages[key] = page

    def __len__(self) -> int:
        return len(self._products) + len(self._pages)


class NoProductCache:
    """A cache that keeps nothing: every read goes to the store."""

    async def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        return {}

    async def put(self, products: list[Product]) -> None:
        return None

    async def drop(self, product_ids: list[str]) -> None:
        return None

    async def get_page(self, key: str) -> Page | None:
        return None

    async def put_page(self, key: str, page: Page) -> None:
        return None

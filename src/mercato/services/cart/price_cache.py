"""Prices the cart has just been told, kept for a second.

Every cart read and every change asks the catalog for its products' prices (the cart shows
the catalog's current price, never the one it was added at). A shop's carts hold the same
popular products, so most of those lookups ask again what was answered a moment ago: the
cart page did three internal calls' worth of work for one page (benchmarks/RESULTS.md,
bench_pages, 2026-12-05). ``CachedCatalog`` wraps any ``ProductCatalog`` and answers a
product it looked up less than ``ttl`` seconds ago from memory; the rest are asked in one
batch as before. A price change reaches the cart at most ``ttl`` later; orders price a
checkout at the catalog itself, so what is charged never comes from here. A product the
catalog does not know is not remembered (it may be created the next moment). The cache is
bounded: past ``max_entries`` the expired entries go, then the least recently used
(cachetools' ``TTLCache``); what is written here is the batch split (what is fresh, what
to ask), which no cache library does for a batched lookup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cachetools import TTLCache

from mercato.services.cart.domain import Product
from mercato.services.cart.ports import ProductCatalog


class CachedCatalog:
    """A ``ProductCatalog`` that remembers each found product for ``ttl`` seconds."""

    def __init__(self, catalog: ProductCatalog, ttl: float = 1.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._catalog = catalog
        self._known: TTLCache[str, Product] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl, timer=clock) if ttl > 0 else None)

    async def lookup(self, product_ids: Sequence[str]) -> dict[str, Product]:
        known = self._known if self._known is not None else {}
        found: dict[str, Product] = {}
        missing: list[str] = []
        for pid in product_ids:  # one read each: an entry may expire between two
            if (product := known.get(pid)) is not None:
                found[pid] = product
            else:
                missing.append(pid)
        if missing:
            fresh = await self._catalog.lookup(missing)
            found.update(fresh)
            if self._known is not None:
                self._known.update(fresh)
        return found

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
bounded: past ``max_entries`` the expired entries go, then the oldest.

Hand-written rather than a library's TTL cache: it is a dict, a clock and a batch split
(what is fresh, what to ask), which no cache library does for a batched lookup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from mercato.services.cart.domain import Product
from mercato.services.cart.ports import ProductCatalog


class CachedCatalog:
    """A ``ProductCatalog`` that remembers each found product for ``ttl`` seconds."""

    def __init__(self, catalog: ProductCatalog, ttl: float = 1.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._catalog, self._ttl, self._max, self._clock = catalog, ttl, max_entries, clock
        self._known: dict[str, tuple[float, Product]] = {}

    async def lookup(self, product_ids: Sequence[str]) -> dict[str, Product]:
        now = self._clock()
        found: dict[str, Product] = {}
        missing: list[str] = []
        for pid in product_ids:
            entry = self._known.get(pid)
            if entry is not None and entry[0] > now:
                found[pid] = entry[1]
            else:
                missing.append(pid)
        if missing:
            fresh = await self._catalog.lookup(missing)
            found.update(fresh)
            self._remember(fresh, self._clock() + self._ttl)
        return found

    def _remember(self, products: dict[str, Product], until: float) -> None:
        if self._ttl <= 0:
            return
        for pid, product in products.items():  # re-inserted: the newest go last
            self._known.pop(pid, None)
            self._known[pid] = (until, product)
        if len(self._known) > self._max:
            now = self._clock()
            self._known = {k: v for k, v in self._known.items() if v[0] > now}
            for pid in list(self._known)[:len(self._known) - self._max]:
                del self._known[pid]

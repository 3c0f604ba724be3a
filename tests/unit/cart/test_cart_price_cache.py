"""The cart's price cache: a product found is reused for ``ttl`` seconds, the rest asked in
one batch; unknown products, a zero ttl and the bound (least recently used first)."""

from __future__ import annotations

import pytest

from mercato.services.cart.domain import Product
from mercato.services.cart.ports import CatalogUnavailable
from mercato.services.cart.price_cache import CachedCatalog


class Catalog:
    """A catalog that knows ``prices`` and records every batch it is asked."""

    def __init__(self, **prices: int) -> None:
        self.prices, self.asked, self.down = prices, [], False

    async def lookup(self, ids):
        self.asked.append(list(ids))
        if self.down:
            raise CatalogUnavailable("down")
        return {i: Product(i, self.prices[i], "USD", i.upper()) for i in ids if i in self.prices}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_product_found_is_answered_from_memory_until_its_ttl_passes():
    catalog, clock = Catalog(a=100, b=200), Clock()
    cached = CachedCatalog(catalog, ttl=1.0, clock=clock)

    first = await cached.lookup(["a"])
    clock.now += 0.9
    again = await cached.lookup(["a", "b"])  # a remembered, b asked alone
    catalog.prices["a"] = 150
    clock.now += 0.2  # a's second has passed
    later = await cached.lookup(["a", "b"])

    assert first == {"a": Product("a", 100, "USD", "A")}
    assert again == {"a": Product("a", 100, "USD", "A"), "b": Product("b", 200, "USD", "B")}
    assert later["a"].price == 150 and later["b"].price == 200
    assert catalog.asked == [["a"], ["b"], ["a"]]


async def test_an_unknown_product_is_asked_again_every_time():
    catalog = Catalog(a=100)
    cached = CachedCatalog(catalog, ttl=60, clock=Clock())
    assert await cached.lookup(["x"]) == {}
    catalog.prices["x"] = 5  # created meanwhile
    assert (await cached.lookup(["x"]))["x"].price == 5
    assert catalog.asked == [["x"], ["x"]]


async def test_a_zero_ttl_asks_the_catalog_every_time():
    catalog = Catalog(a=100)
    cached = CachedCatalog(catalog, ttl=0, clock=Clock())
    await cached.lookup(["a"])
    await cached.lookup(["a"])
    assert catalog.asked == [["a"], ["a"]]


async def test_an_unavailable_catalog_is_the_callers_error_and_nothing_is_remembered():
    catalog = Catalog(a=100)
    catalog.down = True
    cached = CachedCatalog(catalog, ttl=60, clock=Clock())
    with pytest.raises(CatalogUnavailable):
        await cached.lookup(["a"])
    catalog.down = False
    assert (await cached.lookup(["a"]))["a"].price == 100
    assert catalog.asked == [["a"], ["a"]]


async def test_past_its_bound_the_least_recently_used_entries_go_first():
    catalog, clock = Catalog(a=1, b=2, c=3), Clock()
    cached = CachedCatalog(catalog, ttl=60, max_entries=2, clock=clock)
    await cached.lookup(["a"])
    await cached.lookup(["b"])
    await cached.lookup(["a"])  # a used again: b is now the least recently used
    await cached.lookup(["c"])
    await cached.lookup(["a", "c", "b"])  # a and c remembered; b had to go
    assert catalog.asked == [["a"], ["b"], ["c"], ["b"]]

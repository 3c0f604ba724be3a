"""The catalog's handlers read through the cache (cache-aside) and drop what a change
makes stale: at once on the instance that made it, on the others when its event comes
(``on_product_event``); ``fresh`` reads the store whatever the cache holds. Two
instances here are two handler sets on one store, each with its own cache."""

from __future__ import annotations

import pytest

from mercato.contracts.catalog import ProductCreated, ProductUpdated
from mercato.services.catalog.ports import BadCursor
from tests.support.memory import MemoryDatabase
from tests.support.memory.catalog import MemoryProductRepository
from tests.unit.catalog.conftest import MUG, make_catalog


class CountingRepository(MemoryProductRepository):
    """The in-memory repository, counting the reads that reach it."""

    def __init__(self, db: MemoryDatabase) -> None:
        super().__init__(db)
        self.reads = 0

    async def get_many(self, product_ids):
        self.reads += 1
        return await super().get_many(product_ids)

    async def search(self, **query):
        self.reads += 1
        return await super().search(**query)


@pytest.fixture
def store() -> CountingRepository:
    return CountingRepository(MemoryDatabase())


@pytest.fixture
def two(store):
    """Two catalog instances on one store, each with its own in-process cache."""
    return make_catalog(store), make_catalog(store)


async def page(catalog, **query):
    items, _ = await catalog.search(text=query.get("text"), category=query.get("category"),
                                    limit=20, cursor=None)
    return [(p.name, p.price) for p in items]


async def test_a_product_read_twice_is_read_from_the_store_once(two, store):
    one, _ = two
    mug = await one.create_product(dict(MUG))
    assert await one.get_product(mug.id) == mug
    assert await one.get_product(mug.id) == mug
    assert await one.lookup([mug.id, "nope"]) == {mug.id: mug}
    assert store.reads == 2  # the first read, and the lookup's unknown id


async def test_a_search_page_read_twice_is_read_from_the_store_once(two, store):
    one, _ = two
    await one.create_product(dict(MUG))
    assert await page(one, text="MUG") == [("Mug", 1200)]
    assert await page(one, text="mug") == [("Mug", 1200)]  # the same normalised query
    assert store.reads == 1


async def test_a_bad_cursor_is_refused_every_time_and_never_cached(two):
    one, _ = two
    for _ in range(2):
        with pytest.raises(BadCursor):
            await one.search(text=None, category=None, limit=20, cursor="garbage")


async def test_a_change_is_seen_at_once_on_the_instance_that_made_it(two):
    one, _ = two
    mug = await one.create_product(dict(MUG))
    await one.get_product(mug.id)
    assert await page(one) == [("Mug", 1200)]
    await one.update_product(mug.id, {"price": 1500})
    assert (await one.get_product(mug.id)).price == 1500
    assert await page(one) == [("Mug", 1500)]
    await one.create_product({**MUG, "sku": "CUP-1", "name": "Cup"})
    assert await page(one) == [("Cup", 1200), ("Mug", 1500)]


async def test_another_instance_drops_its_entries_when_the_event_comes(two):
    one, other = two
    mug = await one.create_product(dict(MUG))
    assert (await other.get_product(mug.id)).price == 1200
    assert await page(other) == [("Mug", 1200)]
    await one.update_product(mug.id, {"price": 1500})
    assert (await other.get_product(mug.id)).price == 1200  # stale until the event
    [_, (envelope, event)] = one.outbox.events()
    assert isinstance(event, ProductUpdated)
    await other.on_product_event(envelope, event)
    assert (await other.get_product(mug.id)).price == 1500
    assert await page(other) == [("Mug", 1500)]


async def test_a_new_product_on_another_instance_empties_the_search_pages(two):
    one, other = two
    await one.create_product(dict(MUG))
    assert await page(other) == [("Mug", 1200)]
    await one.create_product({**MUG, "sku": "CUP-1", "name": "Cup"})
    envelope, event = one.outbox.events()[-1]
    assert isinstance(event, ProductCreated)
    await other.on_product_event(envelope, event)
    assert await page(other) == [("Cup", 1200), ("Mug", 1200)]


async def test_a_fresh_lookup_reads_the_store_whatever_the_cache_holds(two, store):
    one, other = two
    mug = await one.create_product(dict(MUG))
    await other.get_product(mug.id)
    await one.update_product(mug.id, {"price": 1500})
    reads = store.reads
    assert (await other.lookup([mug.id]))[mug.id].price == 1200  # its cache, stale
    assert (await other.lookup([mug.id], fresh=True))[mug.id].price == 1500
    assert store.reads == reads + 1

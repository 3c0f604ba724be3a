"""One contract for both product caches (services/catalog/ports.py ``ProductCache``): the
in-process one and the Redis one, the latter on the system Redis under a key prefix of
its own, deleted after. Then what only one of them can show: the in-process bound and
TTL (on a clock the test moves), Redis' keys expiring, and a Redis that does not answer
failing open."""

from __future__ import annotations

import socket

import pytest

from mercato.services.catalog.cache import MemoryProductCache
from mercato.services.catalog.cache_redis import RedisProductCache
from mercato.services.catalog.domain import Product
from mercato.services.catalog.ports import Page, page_key
from tests.support.redis_server import REDIS_URL, RedisPrefix

TTL = 30.0


def product(pid: str, price: int = 1000) -> Product:
    return Product(id=pid, sku=f"SKU-{pid}", name=f"Product {pid}", description="",
                   category="kitchen", price=price, currency="USD",
                   created_at="2026-01-01T00:00:00+00:00", updated_at="2026-01-01T00:00:00+00:00")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def prefix():
    p = RedisPrefix()
    yield p
    p.clean()


@pytest.fixture(params=["memory", "redis"])
async def cache(request):
    if request.param == "memory":
        yield MemoryProductCache(TTL)
        return
    prefix = request.getfixturevalue("prefix")
    redis_cache = RedisProductCache(REDIS_URL, prefix=prefix.prefix, ttl=TTL)
    yield redis_cache
    await redis_cache.close()


async def fill(cache, *products: Product) -> None:
    """Cache-aside as the handlers do it: a miss first, then the store's products."""
    await cache.get_many([p.id for p in products])
    await cache.put(list(products))


async def fill_page(cache, key: str, page: Page) -> None:
    assert await cache.get_page(key) is None
    await cache.put_page(key, page)


async def test_products_put_after_their_miss_are_served_and_others_miss(cache):
    mug, cup = product("mug"), product("cup", 700)
    await fill(cache, mug, cup)
    assert await cache.get_many(["cup", "nope", "mug"]) == {"cup": cup, "mug": mug}
    assert await cache.get_many([]) == {}


async def test_a_drop_forgets_its_products_and_every_page_but_no_other_product(cache):
    mug, cup = product("mug"), product("cup")
    await fill(cache, mug, cup)
    key = page_key("mu", None, 20, None)
    await fill_page(cache, key, Page((mug,), None))
    assert await cache.get_page(key) == Page((mug,), None)
    await cache.drop(["mug"])
    assert await cache.get_many(["mug", "cup"]) == {"cup": cup}
    assert await cache.get_page(key) is None


async def test_a_drop_of_no_product_forgets_the_pages_only(cache):
    mug = product("mug")
    await fill(cache, mug)
    key = page_key(None, "kitchen", 20, None)
    await fill_page(cache, key, Page((mug,), "next"))
    await cache.drop([])
    assert await cache.get_page(key) is None
    assert await cache.get_many(["mug"]) == {"mug": mug}


async def test_what_was_read_before_a_drop_is_not_stored_after_it(cache):
    # a slow reader: its miss, then a change and its drop, then the old values it read
    stale = product("mug", 1000)
    key = page_key(None, None, 20, None)
    assert await cache.get_many(["mug"]) == {}
    assert await cache.get_page(key) is None
    await cache.drop(["mug"])
    await cache.put([stale])
    await cache.put_page(key, Page((stale,), None))
    assert await cache.get_many(["mug"]) == {}
    assert await cache.get_page(key) is None
    fresh = product("mug", 1500)  # the next reader fills it again
    await fill(cache, fresh)
    assert await cache.get_many(["mug"]) == {"mug": fresh}


async def test_a_new_product_costs_no_products_fill(cache):
    # a drop of the pages only (a ProductCreated) between a product's miss and its put
    assert await cache.get_many(["mug"]) == {}
    await cache.drop([])
    await cache.put([product("mug")])
    assert await cache.get_many(["mug"]) == {"mug": product("mug")}


async def test_a_later_miss_never_vouches_for_an_earlier_readers_value(cache):
    assert await cache.get_many(["mug"]) == {}  # reader 1 misses
    await cache.drop(["mug"])  # a change
    assert await cache.get_many(["mug"]) == {}  # reader 2 misses, after the change
    await cache.put([product("mug", 1000)])  # reader 1's value, read before the change
    assert await cache.get_many(["mug"]) == {}


def test_a_search_page_key_ignores_the_texts_case_and_tells_every_other_part_apart():
    assert page_key("Mug", None, 20, None) == page_key("mug", None, 20, None)
    assert page_key(None, None, 20, None) == page_key("", "", 20, "")
    keys = {page_key("mug", None, 20, None), page_key(None, "mug", 20, None),
            page_key("mug", None, 10, None), page_key("mug", None, 20, "c1")}
    assert len(keys) == 4


async def test_the_memory_cache_forgets_entries_after_the_ttl():
    clock = Clock()
    cache = MemoryProductCache(TTL, clock=clock)
    mug = product("mug")
    await fill(cache, mug)
    key = page_key(None, None, 20, None)
    await fill_page(cache, key, Page((mug,), None))
    clock.now += TTL - 1
    assert await cache.get_many(["mug"]) == {"mug": mug}
    clock.now += 1
    assert await cache.get_many(["mug"]) == {}
    assert await cache.get_page(key) is None


async def test_the_memory_cache_keeps_at_most_its_bound_least_recently_used_out():
    cache = MemoryProductCache(TTL, products=2, pages=1)
    await fill(cache, product("a"))
    await fill(cache, product("b"))
    await cache.get_many(["a"])  # a is used: b is now the least recently used
    await fill(cache, product("c"))
    assert sorted(await cache.get_many(["a", "b", "c"])) == ["a", "c"]
    await fill_page(cache, "k1", Page((), None))
    await fill_page(cache, "k2", Page((), None))
    assert await cache.get_page("k1") is None
    assert await cache.get_page("k2") == Page((), None)
    assert len(cache) == 3


async def test_redis_entries_are_under_the_prefix_and_expire_within_the_ttl(prefix):
    cache = RedisProductCache(REDIS_URL, prefix=prefix.prefix, ttl=TTL)
    await fill(cache, product("mug"))
    await fill_page(cache, "k", Page((product("mug"),), None))
    await cache.close()
    products_and_pages = [k for k in prefix.keys() if ":gen:" not in k]
    assert len(products_and_pages) == 2
    assert prefix.prefix + "p:mug" in products_and_pages
    assert all(0 < prefix.client.pttl(k) <= TTL * 1000 for k in products_and_pages)


async def test_two_instances_on_one_redis_share_entries_and_drops(prefix):
    one = RedisProductCache(REDIS_URL, prefix=prefix.prefix, ttl=TTL)
    two = RedisProductCache(REDIS_URL, prefix=prefix.prefix, ttl=TTL)
    mug = product("mug")
    await fill(one, mug)
    assert await two.get_many(["mug"]) == {"mug": mug}
    await two.drop(["mug"])
    assert await one.get_many(["mug"]) == {}
    await one.close()
    await two.close()


async def test_a_redis_that_does_not_answer_is_a_miss_never_a_failure():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = RedisProductCache(f"redis://127.0.0.1:{port}/0", prefix="x:", ttl=TTL)
    assert await cache.get_many(["mug"]) == {}
    await cache.put([product("mug")])
    assert await cache.get_page("k") is None
    await cache.put_page("k", Page((), None))
    await cache.drop(["mug"])
    await cache.close()


async def test_a_redis_entry_another_version_wrote_is_a_miss_never_a_failure(prefix):
    cache = RedisProductCache(REDIS_URL, prefix=prefix.prefix, ttl=TTL)
    prefix.client.set(prefix.prefix + "p:mug", b'{"id": "mug", "colour": "blue"}')
    prefix.client.set(prefix.prefix + "p:cup", b"not json")
    assert await cache.get_many(["mug", "cup"]) == {}
    await fill_page(cache, "k", Page((product("mug"),), None))
    page_key = next(k for k in prefix.keys() if ":gen:" not in k and ":p:" not in k
                    and not k.endswith("p:mug") and not k.endswith("p:cup"))
    prefix.client.set(page_key, b'{"items": "?"}')
    assert await cache.get_page("k") is None
    await cache.close()

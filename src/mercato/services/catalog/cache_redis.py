"""The catalog's cache in Redis (``ProductCache`` in ports.py), shared by every instance of
one platform (the production profile, ``MERCATO_REDIS_URL``).

A product is a JSON string under ``<prefix>p:<id>``, a search page one under
``<prefix>s:<hash of its query>``, each set to expire after the TTL. A drop deletes the
products and increments the products' and the pages' generations (``<prefix>gen:p``,
``<prefix>gen:s``; the pages' alone for a new product), in one transaction. Every page
carries the generation it was read under, so all older pages read as misses (dropped
wholesale, in one step). An entry read from the store after a miss is stored only if its
generation is still the one the miss saw (checked in Redis, by a script), so a slow
reader never stores what a change made stale meanwhile.

Redis unreachable or slow (past ``timeout``): a read is a miss (the store answers), a
warning is logged at most every ``log_every`` seconds, and reads skip Redis for ``pause``
seconds, so a dead server costs nothing per request. Drops are always tried.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from mercato.chassis.logging import get_logger
from mercato.services.catalog.cache import Misses
from mercato.services.catalog.domain import Product
from mercato.services.catalog.ports import Page

log = get_logger(__name__)
# A generation outlives every entry stored under it by this many TTLs, then goes (as 0):
# an entry that carries an older one reads as a miss, so an idle platform leaves no key.
GENERATION_TTLS = 10

# KEYS[1]: the generation; then the entries. ARGV[1]: the generation their misses saw,
# ARGV[2]: TTL in ms, then one value per entry. Stores nothing if anything was dropped.
PUT_IF_UNCHANGED = """
if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[2])
end
return 1
"""


class RedisProductCache:
    def __init__(self, url: str, *, prefix: str, ttl: float, timeout: float = 0.1,
                 pause: float = 1.0, log_every: float = 10.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.prefix, self.ttl_ms = prefix, max(1, round(ttl * 1000))
        self.pause, self.log_every, self._monotonic = pause, log_every, monotonic
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout,
                                              socket_connect_timeout=timeout)
        self._put = self._redis.register_script(PUT_IF_UNCHANGED)
        self._product_gen, self._page_gen = prefix + "gen:p", prefix + "gen:s"
        self._product_misses, self._page_misses = Misses(), Misses()
        self._skip_until = 0.0
        self._logged_at = -math.inf

    async def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        if not product_ids or self._skipping():
            return {}
        try:
            generation, *values = await self._redis.mget(
                [self._product_gen, *map(self._product, product_ids)])
        except RedisError as exc:
            self._failed("read", exc)
            return {}
        found = {}
        for pid, value in zip(product_ids, values, strict=True):
            product = _decoded(value, lambda v: Product(**json.loads(v)))
            if product is None:  # absent, or unreadable (another version wrote it): a miss
                self._product_misses.missed(pid, int(generation or 0))
            else:
                found[pid] = product
        return found

    async def put(self, products: list[Product]) -> None:
        by_generation: dict[int, list[Product]] = {}
        for p in products:
            seen = self._product_misses.take(p.id)
            if seen is not None:
                by_generation.setdefault(seen, []).append(p)
        for seen, group in by_generation.items():
            await self._store(self._product_gen, seen, [self._product(p.id) for p in group],
                              [json.dumps(p.as_dict()) for p in group])

    async def drop(self, product_ids: list[str]) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                if product_ids:
                    pipe.delete(*map(self._product, product_ids))
                    pipe.incr(self._product_gen)
                    pipe.pexpire(self._product_gen, self.ttl_ms * GENERATION_TTLS)
                pipe.incr(self._page_gen)
                pipe.pexpire(self._page_gen, self.ttl_ms * GENERATION_TTLS)
                await pipe.execute()
        except RedisError as exc:  # stale until the TTL: say so every time
            log.warning("catalog_cache_drop_failed", products=len(product_ids),
                        error=f"{type(exc).__name__}: {exc}")

    async def get_page(self, key: str) -> Page | None:
        if self._skipping():
            return None
        try:
            generation, value = await self._redis.mget([self._page_gen, self._page(key)])
        except RedisError as exc:
            self._failed("read", exc)
            return None
        now = int(generation or 0)
        stored = _decoded(value, json.loads)
        page = _decoded(stored, lambda v: Page(tuple(Product(**p) for p in v["items"]),
                                               v["next"]) if v["generation"] == now else None)
        if page is not None:
            return page
        self._page_misses.missed(key, now)
        return None

    async def put_page(self, key: str, page: Page) -> None:
        seen = self._page_misses.take(key)
        if seen is None:
            return
        await self._store(self._page_gen, seen, [self._page(key)], [json.dumps({
            "generation": seen, "next": page.next_cursor,
            "items": [p.as_dict() for p in page.items]})])

    async def close(self) -> None:
        await self._redis.aclose()

    async def _store(self, generation: str, seen: int, keys: list[str],
                     values: list[str]) -> None:
        if self._skipping():
            return
        try:
            await self._put(keys=[generation, *keys], args=[seen, self.ttl_ms, *values])
        except RedisError as exc:
            self._failed("write", exc)

    def _product(self, product_id: str) -> str:
        return f"{self.prefix}p:{product_id}"

    def _page(self, key: str) -> str:
        return f"{self.prefix}s:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def _skipping(self) -> bool:
        return self._monotonic() < self._skip_until

    def _failed(self, what: str, exc: Exception) -> None:
        now = self._monotonic()
        self._skip_until = now + self.pause
        if now - self._logged_at >= self.log_every:
            self._logged_at = now
            log.warning("catalog_cache_unavailable", operation=what,
                        error=f"{type(exc).__name__}: {exc}", skipped_for=self.pause)


def _decoded(value, decode):
    """``decode(value)``, or None when there is no value or it cannot be read: an entry
    written by another version during a rolling deploy is a miss, never a failed read."""
    if value is None:
        return None
    try:
        return decode(value)
    except (ValueError, TypeError, KeyError):
        return None

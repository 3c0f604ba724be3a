"""A micro-cache for what every visitor sees alike: public catalog reads, for one second.

The shop's home, search and product pages are built from public, anonymous GETs (the
catalog's products and categories, a product's availability). Under load many visitors ask
for the same ones within the same second; keeping each successful answer for ``ttl`` seconds
(and letting concurrent misses share one call) turns those into dictionary lookups. What a
visitor sees may be up to ``ttl`` old — a price or "Only 3 left" a second late — which a shop
page can afford: the checkout itself always asks the services. Measured in
benchmarks/bench_pages.py (RESULTS.md). Per process, bounded, nothing personal in it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from mercato.pages.api import ApiReply

Fetch = Callable[[], Awaitable[ApiReply]]


class PublicCache:
    def __init__(self, ttl: float = 1.0, size: int = 2048,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, ApiReply]] = OrderedDict()
        self._pending: dict[str, asyncio.Future] = {}

    async def get(self, key: str, fetch: Fetch) -> ApiReply:
        now = self._clock()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            reply = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            self._pending.pop(key, None)
        if reply.status == 200 and self.ttl > 0:
            self._kept[key] = (self._clock() + self.ttl, reply)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        future.set_result(reply)
        return reply

"""The pages' micro-cache of public reads: kept for its ttl, misses shared, failures not
kept."""

from __future__ import annotations

import asyncio

from mercato.pages.api import ApiReply
from mercato.pages.cache import PublicCache


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_answer_is_kept_for_its_ttl_then_asked_again():
    clock, calls = Clock(), []

    async def fetch():
        calls.append(1)
        return ApiReply(200, b"%d" % len(calls))

    cache = PublicCache(ttl=1.0, clock=clock)
    assert (await cache.get("/p", fetch)).body == b"1"
    clock.now += 0.9
    assert (await cache.get("/p", fetch)).body == b"1"
    clock.now += 0.2
    assert (await cache.get("/p", fetch)).body == b"2"
    assert len(calls) == 2


async def test_concurrent_misses_share_one_call():
    calls, release = [], asyncio.Event()

    async def fetch():
        calls.append(1)
        await release.wait()
        return ApiReply(200, b"x")

    cache = PublicCache(ttl=1.0)
    waiting = [asyncio.ensure_future(cache.get("/p", fetch)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert [r.body for r in await asyncio.gather(*waiting)] == [b"x"] * 5
    assert len(calls) == 1


async def test_errors_and_failures_are_never_kept():
    replies = iter([ApiReply(503), ApiReply(200, b"ok")])

    async def fetch():
        return next(replies)

    cache = PublicCache(ttl=10.0)
    assert (await cache.get("/p", fetch)).status == 503
    assert (await cache.get("/p", fetch)).status == 200

    async def broken():
        raise ConnectionError("down")

    try:
        await cache.get("/q", broken)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failure should reach the caller")
    assert "/q" not in cache._kept and not cache._pending


async def test_the_cache_is_bounded():
    async def fetch():
        return ApiReply(200, b"x")

    cache = PublicCache(ttl=10.0, size=3)
    for key in "abcde":
        await cache.get(key, fetch)
    assert list(cache._kept) == ["c", "d", "e"]

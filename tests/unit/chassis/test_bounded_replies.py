"""A peer's reply is read up to the client's bound: a Content-Length over it is refused
before a byte of the body is read, a reply without one (chunked) as soon as the chunks
pass it, and either way the call ends in ``Unavailable``; a reply at the bound is read
whole. Against a real aiohttp server on a free port, through the real ServiceClient."""

from __future__ import annotations

import contextlib

import pytest
from aiohttp import web

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.resilience import CallPolicy

LIMIT = 10_000


class OnePeer:
    """A registry view with one ready instance of every service: the local server."""

    routing = None

    def __init__(self, address: str) -> None:
        self.address = address

    def ready(self, service):
        return [Instance(service, f"{service}-1", self.address, "1", health="ready")]

    def all(self):
        return self.ready("catalog")


class AnyToken:
    def token(self, *_audience) -> str:
        return "t"


@contextlib.asynccontextmanager
async def peer(handler):
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    client = ServiceClient(OnePeer(f"http://127.0.0.1:{runner.addresses[0][1]}"), AnyToken(),
                           policy=CallPolicy(total_timeout=5.0, attempts=1),
                           max_reply_bytes=LIMIT)
    await client.start()
    try:
        yield client
    finally:
        await client.close()
        await runner.cleanup()


def fixed(size: int):
    async def answer(_request):
        return web.Response(body=b"a" * size, content_type="application/json")
    return answer


def chunked(size: int):
    """Streams ``size`` bytes in 1 kB chunks with no Content-Length."""
    async def answer(request):
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(size // 1000):
                await resp.write(b"a" * 1000)
            await resp.write_eof()
        return resp
    return answer


async def test_a_reply_declaring_more_than_the_bound_is_refused_as_unavailable():
    async with peer(fixed(LIMIT + 1)) as client:
        with pytest.raises(Unavailable, match="over 10000"):
            await client.call("catalog", "GET", "/x")


async def test_a_chunked_reply_is_cut_off_once_it_passes_the_bound():
    async with peer(chunked(50 * LIMIT)) as client:
        with pytest.raises(Unavailable, match="over 10000"):
            await client.call("catalog", "GET", "/x")


@pytest.mark.parametrize("answer", [fixed(LIMIT), chunked(LIMIT)])
async def test_a_reply_at_the_bound_is_read_whole(answer):
    async with peer(answer) as client:
        reply = await client.call("catalog", "GET", "/x")
    assert reply.status == 200 and reply.body == b"a" * LIMIT

"""How a ``ServiceClient``'s request reaches an instance: the seam between the client (its
token, headers, deadlines, balancing, retries, breakers) and the wire.

``AiohttpTransport`` is the one the platform runs: one shared ``aiohttp.ClientSession`` per
process (measured in ``benchmarks/bench_http_client.py``: a proxy on aiohttp carries many
times the traffic of the same proxy on ``httpx.AsyncClient``). Tests give the client
another ``Transport`` — a service's real app in process, or canned answers — and keep
everything else of the client real (tests/support/service_client.py).

A reply is read up to ``max_reply_bytes``: a peer that answers more — broken, or not the
peer it claims to be — costs the caller that much memory at most, and the attempt fails
like one that got no answer (``ReplyTooLarge``, so the call ends in ``Unavailable``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from ssl import SSLContext
from typing import Any, Protocol

import aiohttp

# Seconds an internal client (this one, the gateway's proxy) keeps an idle connection.
# A server must keep it longer (``chassis/web/serve.py``): if the server closed it first,
# a request sent on it at that moment would fail mid-write ("Can not write request body").
CLIENT_IDLE_SECONDS = 30.0
CHUNK = 64 * 1024


@dataclass
class Reply:
    """A service's answer to a call: status, body (bounded) and headers."""

    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ReplyTooLarge(aiohttp.ClientPayloadError):
    """A peer's reply past the bound: an ``aiohttp.ClientError``, so the resilience layer
    takes it as an attempt that failed (``Unavailable`` when none is left)."""


class Transport(Protocol):
    """Sends one attempt and reads its reply. A failure to reach the peer or to read its
    answer is an ``aiohttp.ClientError`` (or ``TimeoutError``): the attempt failed."""

    async def start(self) -> None:
        """Open what the transport needs (a connection pool); called once, first."""
        ...

    async def close(self) -> None:
        """Release it; no call is sent after."""
        ...

    async def send(self, method: str, url: str, *, data: bytes | None,
                   headers: dict[str, str], timeout: aiohttp.ClientTimeout,
                   max_reply_bytes: int) -> Reply:
        """``method url`` with ``headers`` and ``data``, within ``timeout``; the reply read
        up to ``max_reply_bytes`` (``ReplyTooLarge`` past it)."""
        ...


async def read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The reply's body, refused (``ReplyTooLarge``) once it is over ``limit`` bytes: at
    once by its Content-Length, else as soon as the chunks read pass it."""
    if resp.content_length is not None:  # the common case: declared, so read at once
        if resp.content_length > limit:
            raise ReplyTooLarge(f"the reply declares {resp.content_length} bytes, over {limit}")
        return await resp.read()
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise ReplyTooLarge(f"the reply is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class AiohttpTransport:
    """The platform's ``Transport``: pooled connections (``max_connections``), idle ones
    dropped after ``CLIENT_IDLE_SECONDS``, this workload's client certificate under mTLS."""

    def __init__(self, *, max_connections: int = 200, ssl: SSLContext | None = None) -> None:
        self._max_connections = max_connections
        self._ssl = ssl
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300,
                                         keepalive_timeout=CLIENT_IDLE_SECONDS,
                                         ssl=self._ssl if self._ssl is not None else True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    async def send(self, method: str, url: str, *, data: bytes | None,
                   headers: dict[str, str], timeout: aiohttp.ClientTimeout,
                   max_reply_bytes: int) -> Reply:
        assert self._session is not None, "ServiceClient.start() was not called"
        async with self._session.request(method, url, data=data, headers=headers,
                                         timeout=timeout) as resp:
            body = await read_bounded(resp, max_reply_bytes)
        return Reply(resp.status, body, dict(resp.headers))

"""Service-to-service HTTP: find an instance in the registry, call it, always with a timeout.

Built on one shared ``aiohttp.ClientSession`` per process: measured on this machine
(``benchmarks/bench_http_client.py``) a proxy on aiohttp carries many times the traffic of
the same proxy on ``httpx.AsyncClient``. Balancing, retries, the retry budget, the circuit
breaker and the bulkhead are the same as the gateway's (``resilience.py``, and
docs/resilience.md): an open breaker or a full bulkhead raises ``Unavailable`` at once.

A reply is read up to ``max_reply_bytes`` (8 MiB by default; the largest the platform
sends is a page of products, a few kB): a peer that answers more — broken, or not the
peer it claims to be — costs the caller that much memory at most, and the attempt fails
like one that got no answer (``ReplyTooLarge``, so the call ends in ``Unavailable``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from operator import attrgetter
from ssl import SSLContext
from typing import Any

import aiohttp

from mercato.chassis.calls.registry import Instance, RegistryView
from mercato.chassis.calls.resilience import CallPolicy, Resilience, Unavailable
from mercato.chassis.calls.routing import CANARY_HEADER, canary_var
from mercato.chassis.calls.telemetry import Attempt
from mercato.chassis.context import DEADLINE_HEADER, deadline_in, request_id_var
from mercato.chassis.identity import ServiceIdentity
from mercato.chassis.identity.tokens import USER_HEADER

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_REPLY_BYTES = 8 * 1024 * 1024
# Seconds an internal client (this one, the gateway's proxy) keeps an idle connection.
# A server must keep it longer (``chassis/web/serve.py``): if the server closed it first,
# a request sent on it at that moment would fail mid-write ("Can not write request body").
CLIENT_IDLE_SECONDS = 30.0
CHUNK = 64 * 1024
_status = attrgetter("status")

__all__ = ["IDEMPOTENT", "Reply", "ReplyTooLarge", "ServiceClient", "Unavailable", "read_bounded"]


class ReplyTooLarge(aiohttp.ClientPayloadError):
    """A peer's reply past the bound: an ``aiohttp.ClientError``, so the resilience layer
    takes it as an attempt that failed (``Unavailable`` when none is left)."""


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


class ServiceClient:
    """Calls other services by name. One per process, created in the composition root.

    ``timeout`` is a call's default total time; ``policy`` the rest (``CallPolicy``, from
    settings in the runtime); the defaults are the policy's own. ``max_reply_bytes``
    bounds what one reply may cost (``read_bounded``)."""

    def __init__(
        self,
        view: RegistryView,
        identity: ServiceIdentity,
        *,
        timeout: float = 5.0,
        max_connections: int = 200,
        policy: CallPolicy | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        ssl: SSLContext | None = None,
    ) -> None:
        self._identity = identity
        self._ssl = ssl  # mTLS: this workload's client certificate (chassis/tls)
        self._max_reply = max_reply_bytes
        self._session: aiohttp.ClientSession | None = None
        self._max_connections = max_connections
        self.resilience = Resilience(
            view, dataclasses.replace(policy or CallPolicy(), total_timeout=timeout),
            scope="client")

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300,
                                         keepalive_timeout=CLIENT_IDLE_SECONDS,
                                         ssl=self._ssl if self._ssl is not None else True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        user: str | None = None,
    ) -> Reply:
        """One request to some ready instance of ``service``; raises ``Unavailable``.
        ``timeout`` bounds this call and each of its attempts (default: the policy's).
        The call carries this workload's token for ``service``; ``user``, an end user's
        access token, is passed on as the user it acts for (only the gateway's count)."""
        if headers and any(k.lower() == "authorization" for k in headers):
            raise ValueError("a call carries its own service token: give the user's as user=")
        assert self._session is not None, "ServiceClient.start() was not called"
        session = self._session
        sent = {
            "Authorization": f"Bearer {self._identity.token(service)}",
            "X-Request-ID": request_id_var.get(),
        }
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        if user:
            sent[USER_HEADER] = user
        if canary_var.get():  # a canary request stays one down the call chain
            sent[CANARY_HEADER] = canary_var.get()
        if headers:
            sent.update(headers)
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"

        attempts, most = 0, self._max_reply

        async def send(instance: Instance, limit: aiohttp.ClientTimeout) -> Reply:
            nonlocal attempts
            attempt = Attempt(service, method, instance, attempts)
            attempts += 1
            if attempt.traceparent:
                sent["traceparent"] = attempt.traceparent
            # this attempt's deadline, so the callee drops it if it comes too late
            sent[DEADLINE_HEADER] = deadline_in(limit.total, time.time())
            try:
                async with session.request(method, instance.address + path, data=data,
                                           headers=sent, timeout=limit) as resp:
                    body = await read_bounded(resp, most)
            except BaseException as exc:
                attempt.end(None, exc)
                raise
            attempt.end(resp.status)
            return Reply(resp.status, body, dict(resp.headers))

        safe = method.upper() in IDEMPOTENT or idempotency_key is not None
        return await self.resilience.call(service, send, safe=safe, status_of=_status,
                                          timeout=timeout)

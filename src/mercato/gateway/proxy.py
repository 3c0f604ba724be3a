"""Forward one request to an upstream instance over a shared aiohttp session.

Measured on this machine (benchmarks/bench_http_client.py): a raw ASGI proxy on aiohttp
carries many times the traffic of the same proxy on httpx, so the edge uses aiohttp.
Balancing, retries, the retry budget, breakers and bulkheads per upstream service are the
chassis' (``chassis/calls/resilience.py``), the same as for service-to-service calls. The
request's ``X-Canary`` header steers the deployment routing (``chassis/calls/routing.py``)
and is passed on; the answer carries ``X-Mercato-Version``, the answering instance's version.
A reply is read up to ``MAX_REPLY_BYTES`` (``read_bounded``): past it the attempt fails.
"""

from __future__ import annotations

import time
from operator import itemgetter
from ssl import SSLContext

import aiohttp

from mercato.chassis.calls.client import CLIENT_IDLE_SECONDS, MAX_REPLY_BYTES, read_bounded
from mercato.chassis.calls.registry import Instance, RegistryView
from mercato.chassis.calls.resilience import CallPolicy, Resilience, Unavailable
from mercato.chassis.calls.routing import canary_var
from mercato.chassis.calls.telemetry import Attempt
from mercato.chassis.context import DEADLINE_HEADER, deadline_in

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
    b"x-request-id", b"traceparent", b"date", b"server", b"x-mercato-deadline",
})
# Credentials the gateway sets itself (its service token, the user acted for): a
# client's own values under these names are dropped, never forwarded.
REPLACED = frozenset({b"authorization", b"x-mercato-user"})
_status = itemgetter(0)


class NoInstance(Exception):
    """No instance took the request; ``retry_after`` is the seconds for ``Retry-After``."""

    def __init__(self, service: str, reason: str, retry_after: int = 1) -> None:
        super().__init__(f"{service} is unavailable: {reason}")
        self.service = service
        self.retry_after = retry_after


class Upstreams:
    """The ready instances of each service, balanced and guarded by ``Resilience``; a
    request is retried only when it is repeatable (or when nothing was sent)."""

    def __init__(self, view: RegistryView, policy: CallPolicy,
                 ssl: SSLContext | None = None) -> None:
        self.resilience = Resilience(view, policy, scope="proxy")
        self.session: aiohttp.ClientSession | None = None
        self._ssl = ssl  # mTLS: the gateway's client certificate (chassis/tls)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=512,
                                         keepalive_timeout=CLIENT_IDLE_SECONDS,
                                         ssl=self._ssl if self._ssl is not None else True)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                             skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        if self.session:
            await self.session.close()

    async def forward(
        self, service: str, method: str, path_qs: str, headers: list[tuple[bytes, bytes]],
        body: bytes, repeatable: bool, added: list[tuple[bytes, bytes]] = (),
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Sends the client's end-to-end headers plus ``added`` (the gateway's request id
        and forwarding headers, which replace any the client sent) and each attempt's own
        trace context (its client span, ``chassis/calls/telemetry.py``)."""
        out_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers
                       if k.lower() not in HOP_BY_HOP and k.lower() not in REPLACED]
        out_headers += [(k.decode("latin-1"), v.decode("latin-1")) for k, v in added]
        canary = next((v for k, v in out_headers if k.lower() == "x-canary"), "")
        if canary or canary_var.get():
            canary_var.set(canary)
        session, data = self.session, body or None
        attempts = 0

        async def send(instance: Instance, timeout: aiohttp.ClientTimeout):
            nonlocal attempts
            attempt = Attempt(service, method, instance, attempts)
            attempts += 1
            # this attempt's deadline, so the service drops it if it comes too late
            sent = [*out_headers, (DEADLINE_HEADER, deadline_in(timeout.total, time.time()))]
            if attempt.traceparent:
                sent.append(("traceparent", attempt.traceparent))
            try:
                async with session.request(method, instance.address + path_qs, data=data,
                                           headers=sent, timeout=timeout,
                                           allow_redirects=False) as resp:
                    payload = await read_bounded(resp, MAX_REPLY_BYTES)
            except BaseException as exc:
                attempt.end(None, exc)
                raise
            attempt.end(resp.status)
            kept = [(k, v) for k, v in resp.raw_headers if k.lower() not in HOP_BY_HOP]
            kept.append((b"x-mercato-version", instance.version.encode()))
            return resp.status, kept, payload

        try:
            return await self.resilience.call(service, send, safe=repeatable,
                                              status_of=_status)
        except Unavailable as exc:
            raise NoInstance(service, exc.reason, exc.retry_after or 1) from None

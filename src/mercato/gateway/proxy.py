"""Forward one request to an upstream instance over a shared aiohttp session.

Measured on this machine (benchmarks/bench_http_client.py): a raw ASGI proxy on aiohttp
carries many times the traffic of the same proxy on httpx, so the edge uses aiohttp.
"""

from __future__ import annotations

import aiohttp

from mercato.chassis.calls.balance import RoundRobin
from mercato.chassis.calls.registry import Instance, RegistryView

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
    b"x-request-id", b"traceparent", b"date", b"server",
})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class NoInstance(Exception):
    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} is unavailable: {reason}")
        self.service = service


class Upstreams:
    """Round robin over the ready instances of each service; retries a failed connection
    on the next instance when the request is safe to repeat."""

    def __init__(self, view: RegistryView, timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._balance = RoundRobin(view)
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=512, keepalive_timeout=30)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                             skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        if self.session:
            await self.session.close()

    def _candidates(self, service: str) -> list[Instance]:
        ready = self._balance.order(service)
        if not ready:
            raise NoInstance(service, "no ready instance is registered")
        return ready

    async def forward(
        self, service: str, method: str, path_qs: str, headers: list[tuple[bytes, bytes]],
        body: bytes, repeatable: bool, added: list[tuple[bytes, bytes]] = (),
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Sends the client's end-to-end headers plus ``added`` (the gateway's request id,
        trace context and forwarding headers, which replace any the client sent)."""
        out_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers
                       if k.lower() not in HOP_BY_HOP]
        out_headers += [(k.decode("latin-1"), v.decode("latin-1")) for k, v in added]
        last = "no attempt"
        for instance in self._candidates(service):
            try:
                async with self.session.request(
                    method, instance.address + path_qs, data=body or None,
                    headers=out_headers, timeout=self._timeout, allow_redirects=False,
                ) as resp:
                    payload = await resp.read()
                    kept = [(k, v) for k, v in resp.raw_headers if k.lower() not in HOP_BY_HOP]
                    return resp.status, kept, payload
            except aiohttp.ClientConnectionError as exc:
                last = f"{instance.instance_id}: {type(exc).__name__}"
                connect_failed = isinstance(exc, aiohttp.ClientConnectorError)
                if not (repeatable or connect_failed):
                    break
            except TimeoutError:
                last = f"{instance.instance_id}: timed out"
                if not repeatable:
                    break
        raise NoInstance(service, last)

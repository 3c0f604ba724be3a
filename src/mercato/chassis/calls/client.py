"""Service-to-service HTTP: find an instance in the registry, call it, always with a timeout.

Built on one shared ``aiohttp.ClientSession`` per process: measured on this machine
(``benchmarks/bench_http_client.py``) a proxy on aiohttp carries many times the traffic of
the same proxy on ``httpx.AsyncClient``. Instances are taken round robin among the ready
ones; a connection failure moves on to the next instance, and so does a 502/503/504 when
the request is safe to repeat (an idempotent method or an ``Idempotency-Key``).
Breakers, budgets and smarter balancing come with the resilience work (issue 5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from mercato.chassis.calls.balance import RoundRobin
from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.context import request_id_var, traceparent_var
from mercato.chassis.security import ServiceTokens

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Unavailable(Exception):
    """No instance of the service answered (none registered, all down, or timed out)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} is unavailable: {reason}")
        self.service = service
        self.reason = reason


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ServiceClient:
    """Calls other services by name. One per process, created in the composition root."""

    def __init__(
        self,
        view: RegistryView,
        tokens: ServiceTokens,
        *,
        timeout: float = 5.0,
        max_connections: int = 200,
    ) -> None:
        self._tokens = tokens
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._max_connections = max_connections
        self._balance = RoundRobin(view)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    def _pick_order(self, service: str) -> list:
        instances = self._balance.order(service)
        if not instances:
            raise Unavailable(service, "no ready instance is registered")
        return instances

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
    ) -> Reply:
        """One request to some ready instance of ``service``; raises ``Unavailable``."""
        assert self._session is not None, "ServiceClient.start() was not called"
        sent = {
            "Authorization": f"Bearer {self._tokens.token()}",
            "X-Request-ID": request_id_var.get(),
        }
        if traceparent_var.get():
            sent["traceparent"] = traceparent_var.get()
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        if headers:
            sent.update(headers)
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        retry_on_5xx = method.upper() in IDEMPOTENT or idempotency_key is not None
        limit = aiohttp.ClientTimeout(total=timeout or self._timeout)
        last_error = "no attempt made"
        last_reply: Reply | None = None
        for instance in self._pick_order(service):
            try:
                async with self._session.request(
                    method, instance.address + path, data=data, headers=sent, timeout=limit
                ) as resp:
                    body = await resp.read()
                    reply = Reply(resp.status, body, dict(resp.headers))
            except (aiohttp.ClientError, TimeoutError) as exc:
                last_error = f"{instance.instance_id}: {type(exc).__name__} {exc}".strip()
                if isinstance(exc, TimeoutError) and not retry_on_5xx:
                    break
                continue
            if reply.status in (502, 503, 504) and retry_on_5xx:
                last_reply = reply
                continue
            return reply
        if last_reply is not None:  # every instance answered, with a 5xx: that is the answer
            return last_reply
        raise Unavailable(service, last_error)

"""Service-to-service HTTP: find an instance in the registry, call it, always with a timeout.

Balancing, retries, the retry budget, the circuit breaker and the bulkhead are the same as
the gateway's (``resilience.py``, and docs/resilience.md): an open breaker or a full
bulkhead raises ``Unavailable`` at once. The wire is a ``Transport`` (transport.py): aiohttp
in the platform, a service's app in process or canned answers in tests.
"""

from __future__ import annotations

import dataclasses
import json
import time
from operator import attrgetter
from ssl import SSLContext
from typing import Any

import aiohttp

from mercato.chassis.calls.registry import Instance, RegistryView
from mercato.chassis.calls.resilience import CallPolicy, Resilience, Unavailable
from mercato.chassis.calls.routing import CANARY_HEADER, canary_var
from mercato.chassis.calls.telemetry import Attempt
from mercato.chassis.calls.transport import (
    CLIENT_IDLE_SECONDS,
    AiohttpTransport,
    Reply,
    ReplyTooLarge,
    Transport,
    read_bounded,
)
from mercato.chassis.context import DEADLINE_HEADER, deadline_in, request_id_var
from mercato.chassis.identity import ServiceIdentity
from mercato.chassis.identity.tokens import USER_HEADER

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_REPLY_BYTES = 8 * 1024 * 1024  # the largest the platform sends is a page of products
_status = attrgetter("status")

__all__ = ["CLIENT_IDLE_SECONDS", "IDEMPOTENT", "Reply", "ReplyTooLarge", "ServiceClient",
           "Transport", "Unavailable", "read_bounded"]


class ServiceClient:
    """Calls other services by name. One per process, created in the composition root.

    ``timeout`` is a call's default total time; ``policy`` the rest (``CallPolicy``, from
    settings in the runtime); the defaults are the policy's own. ``max_reply_bytes``
    bounds what one reply may cost (``read_bounded``). ``transport`` carries the attempts:
    by default ``AiohttpTransport`` with ``max_connections`` and ``ssl``."""

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
        transport: Transport | None = None,
    ) -> None:
        self._identity = identity
        self._max_reply = max_reply_bytes
        # mTLS: this workload's client certificate (chassis/tls)
        if transport is not None and ssl is not None:
            raise ValueError("ssl is the aiohttp transport's: give it to that transport")
        self._transport = transport or AiohttpTransport(max_connections=max_connections,
                                                        ssl=ssl)
        self.resilience = Resilience(
            view, dataclasses.replace(policy or CallPolicy(), total_timeout=timeout),
            scope="client")

    async def start(self) -> None:
        await self._transport.start()

    async def close(self) -> None:
        await self._transport.close()

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
        transport = self._transport
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
                reply = await transport.send(method, instance.address + path, data=data,
                                             headers=dict(sent), timeout=limit,
                                             max_reply_bytes=most)
            except BaseException as exc:
                attempt.end(None, exc)
                raise
            attempt.end(reply.status)
            return reply

        safe = method.upper() in IDEMPOTENT or idempotency_key is not None
        return await self.resilience.call(service, send, safe=safe, status_of=_status,
                                          timeout=timeout)

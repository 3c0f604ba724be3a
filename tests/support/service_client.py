"""The chassis ``ServiceClient`` for tests of a service's adapters to others: the real
client (its tokens, headers, deadlines, retries, breakers, bounded replies) over a
``Transport`` that needs no network (chassis/calls/transport.py).

``AppTransport`` carries each call to a service's real app in process (as
``httpx.ASGITransport`` does); ``ReplyTransport`` answers every call with one canned reply.
``FakeServiceClient(reply)`` is the client over canned replies, with no ready instance at
all when ``reply`` is None; ``app_client(apps)`` is the client over apps.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx

from mercato.chassis import Reply
from mercato.chassis.calls import CallPolicy, Instance, ReplyTooLarge, ServiceClient
from tests.support.service_http import WORKLOAD_KEYS


def address(service: str) -> str:
    """Where the static registry says ``service`` answers: ``http://<service>.test``."""
    return f"http://{service}.test"


class StaticView:
    """A registry view with ``replicas`` ready instances of each service named, all at
    the service's one address (a 5xx is retried on another instance only)."""

    def __init__(self, services: list[str], replicas: int = 1) -> None:
        self.instances = {s: [Instance(s, f"{s}-{n}", address(s), "1", health="ready")
                              for n in range(1, replicas + 1)] for s in services}

    def ready(self, service: str) -> list[Instance]:
        return list(self.instances.get(service, []))


class AppTransport:
    """Each request sent to ``http://<service>.test`` answered by ``apps[service]`` in
    process; the reply read whole (then bounded), the attempt's timeout applied."""

    def __init__(self, apps: Mapping[str, Any]) -> None:
        self.apps = dict(apps)
        self.sent: list[tuple[str, str, str, dict[str, str]]] = []  # service, method, path

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, method: str, url: str, *, data: bytes | None,
                   headers: dict[str, str], timeout: aiohttp.ClientTimeout,
                   max_reply_bytes: int) -> Reply:
        service = urlsplit(url).hostname.removesuffix(".test")
        self.sent.append((service, method, urlsplit(url).path, headers))
        app = self.apps.get(service)
        if app is None:
            raise aiohttp.ClientConnectionError(f"nothing serves {service} in this test")
        async with asyncio.timeout(timeout.total), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app)) as http:
            r = await http.request(method, url, content=data, headers=headers)
        if len(r.content) > max_reply_bytes:
            raise ReplyTooLarge(f"the reply is over {max_reply_bytes} bytes")
        return Reply(r.status_code, r.content, dict(r.headers))


class ReplyTransport:
    """Every request answered with ``reply``; records (service, method, path, json body)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.sent: list[tuple] = []
        self.headers: list[dict[str, str]] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, method: str, url: str, *, data: bytes | None,
                   headers: dict[str, str], timeout: aiohttp.ClientTimeout,
                   max_reply_bytes: int) -> Reply:
        parts = urlsplit(url)
        body = json.loads(data) if data else None
        self.sent.append((parts.hostname.removesuffix(".test"), method, parts.path, body))
        self.headers.append(headers)
        return self.reply


def service_client(caller: str, services: list[str], transport,
                   policy: CallPolicy | None = None, replicas: int = 1) -> ServiceClient:
    """The real client of ``caller`` (its workload key) reaching ``replicas`` instances of
    each of ``services`` over ``transport`` (these transports need no ``start()``)."""
    return ServiceClient(StaticView(services, replicas), WORKLOAD_KEYS.identity(caller),
                         policy=policy, transport=transport)


def app_client(apps: Mapping[str, Any], caller: str = "orders") -> ServiceClient:
    """``caller``'s client with each service of ``apps`` answered by its app in process."""
    return service_client(caller, list(apps), AppTransport(apps))


class FakeServiceClient(ServiceClient):
    """``ServiceClient`` whose calls all get ``reply`` (any service), or which finds no
    ready instance when ``reply`` is None; ``sent`` lists (service, method, path, json)."""

    def __init__(self, reply: Reply | None, caller: str = "orders",
                 services: tuple[str, ...] = ("catalog", "cart", "inventory", "orders",
                                              "payments", "shipping", "identity")) -> None:
        self.transport = ReplyTransport(reply or Reply(500, b"", {}))
        super().__init__(StaticView(list(services) if reply is not None else []),
                         WORKLOAD_KEYS.identity(caller), transport=self.transport)

    @property
    def sent(self) -> list[tuple]:
        return self.transport.sent


def reply(status: int, body: object) -> Reply:
    return Reply(status, json.dumps(body).encode(), {})

"""The gateway's resilience in process, against real local upstreams on 127.0.0.1: a full
bulkhead and an open breaker answer 503 problem+json with Retry-After at once, retries go
to another instance only for repeatable requests, a reply past the bound is a failed
attempt, and /api/v1/ops/breakers shows it all."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from mercato.chassis.calls.client import MAX_REPLY_BYTES
from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.resilience import CallPolicy
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from mercato.gateway.proxy import Upstreams
from tests.support.service_http import WORKLOAD_KEYS, client
from tests.unit.gateway.test_gateway import ADMIN, CUSTOMER, FakeAuth, FakeView

ADMIN_HEADERS = {"Authorization": "Bearer admin"}


class Upstream:
    """A tiny HTTP server on 127.0.0.1 that counts requests; ``/slow`` waits for ``gate``."""

    def __init__(self) -> None:
        self.hits = 0
        self.gate = asyncio.Event()
        self.arrived = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.address = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        self.arrived.set()
        if request.path.endswith("/slow"):
            await self.gate.wait()
        if request.path.endswith("/huge"):  # past the gateway's bound on a reply
            return web.Response(body=b"a" * (MAX_REPLY_BYTES + 1))
        return web.json_response({"ok": True})

    async def __aenter__(self) -> Upstream:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.address = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.gate.set()
        await self.runner.cleanup()


def closed_port() -> str:
    """An address on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
async def gateway(tmp_path):
    runtime = Runtime("gateway", load_settings(data_dir=tmp_path),
                      make_instance("gateway", 1, "http://gw", "1"))
    runtime.identity = WORKLOAD_KEYS.identity("gateway")
    gw = Gateway(runtime)
    runtime.view = FakeView()
    gw.auth = FakeAuth(customer=CUSTOMER, admin=ADMIN)
    yield gw
    if gw.upstreams is not None:
        await gw.upstreams.close()


async def with_upstreams(gw: Gateway, *addresses: str, **policy) -> None:
    gw.runtime.view.instances = [Instance("catalog", f"catalog-{n}", address, "1",
                                          health="ready")
                                 for n, address in enumerate(addresses, 1)]
    gw.upstreams = Upstreams(gw.runtime.view, CallPolicy(balancer="round_robin", **policy))
    await gw.upstreams.start()


async def breakers(c) -> dict:
    r = await c.get("/api/v1/ops/breakers", headers=ADMIN_HEADERS)
    assert r.status_code == 200
    return {b["service"]: b for b in r.json()["items"] if b["scope"] == "proxy"}


async def test_a_full_bulkhead_is_a_fast_503_with_retry_after(gateway):
    async with Upstream() as up:
        await with_upstreams(gateway, up.address, bulkhead_limit=1)
        async with client(gateway) as c:
            held = asyncio.create_task(c.get("/api/v1/catalog/products/slow"))
            async with asyncio.timeout(10):
                await up.arrived.wait()
            refused = await c.get("/api/v1/catalog/products")
            up.gate.set()
            assert (await held).status_code == 200
            shown = (await breakers(c))["catalog"]
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert "bulkhead is full (1 calls in flight)" in refused.json()["detail"]
    assert up.hits == 1  # the refused request never reached the upstream
    assert shown["bulkhead"] == {"in_flight": 0, "limit": 1, "peak": 1, "rejected": 1}


async def test_an_upstream_that_refuses_connections_opens_the_breaker(gateway):
    await with_upstreams(gateway, closed_port(), breaker_failures=2, breaker_open_for=30)
    async with client(gateway) as c:
        failed = [await c.get("/api/v1/catalog/products") for _ in range(2)]
        refused = await c.get("/api/v1/catalog/products")
        shown = (await breakers(c))["catalog"]
    assert [r.status_code for r in failed] == [503, 503]
    assert "ClientConnectorError" in failed[0].json()["detail"]
    assert refused.status_code == 503
    assert "circuit breaker is open" in refused.json()["detail"]
    assert 29 <= int(refused.headers["retry-after"]) <= 30
    assert (shown["breaker"]["state"], shown["breaker"]["rejected"]) == ("open", 1)
    assert shown["instances"][0]["consecutive_failures"] >= 2


async def test_a_refused_connection_moves_on_to_another_instance_even_for_a_post(gateway):
    async with Upstream() as up:
        await with_upstreams(gateway, closed_port(), up.address)
        async with client(gateway) as c:
            answers = [await c.post("/api/v1/catalog/products", json={},
                                    headers=ADMIN_HEADERS) for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4
    assert up.hits == 4


async def test_ops_breakers_lists_each_upstream_with_its_instances(gateway):
    async with Upstream() as up:
        await with_upstreams(gateway, up.address)
        async with client(gateway) as c:
            assert (await c.get("/api/v1/catalog/products")).status_code == 200
            shown = await breakers(c)
            as_customer = await c.get("/api/v1/ops/breakers",
                                      headers={"Authorization": "Bearer customer"})
    catalog = shown["catalog"]
    assert catalog["balancer"] == "round_robin"
    assert catalog["breaker"]["state"] == "closed"
    assert catalog["retry_budget"]["calls"] == 1
    assert [(i["instance_id"], i["outstanding"], i["ejected"]) for i in catalog["instances"]] \
        == [("catalog-1", 0, False)]
    assert as_customer.status_code == 403


async def test_an_upstream_reply_past_the_bound_is_not_passed_on(gateway):
    async with Upstream() as up:
        await with_upstreams(gateway, up.address, attempts=1)
        async with client(gateway) as c:
            huge = await c.get("/api/v1/catalog/products/huge")
            fine = await c.get("/api/v1/catalog/products")
    assert huge.status_code == 503
    assert f"over {MAX_REPLY_BYTES}" in huge.json()["detail"]
    assert len(huge.content) < 2000
    assert fine.status_code == 200

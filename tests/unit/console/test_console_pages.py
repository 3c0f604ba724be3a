"""The console's pages through its app and a fake public API: who may see them, what they
ask of the API, forms with CSRF, bad input re-rendered with nothing written."""

from __future__ import annotations

import re

import httpx
import pytest

from mercato.console.app import create_console
from mercato.pages.csrf import Csrf
from tests.unit.pages.fakes import FakeApi, FakeVerifier

SECRET = "test-secret"
ORDER = "0b5f1c2e-1111-4222-8333-444455556666"


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("GET", "/api/v1/ops/services", 200, {"items": [
        {"service": "catalog", "instance_id": "catalog-1", "address": "http://c",
         "grpc": "127.0.0.1:50051", "version": "1", "health": "ready", "last_heartbeat": 0},
        {"service": "cart", "instance_id": "cart-1", "address": "http://k",
         "grpc": None, "version": "1", "health": "ready", "last_heartbeat": 0}]})
    fake.on("GET", "/api/v1/ops/breakers", 200, {"items": []})
    return fake


async def browse(api, token: str | None):
    app = create_console(api, FakeVerifier(), SECRET)
    transport = httpx.ASGITransport(app=app, root_path="/console")
    cookies = {"mercato_access": token} if token else {}
    return httpx.AsyncClient(transport=transport, base_url="http://gw/console",
                             cookies=cookies)


def csrf(client: httpx.AsyncClient) -> str:
    return Csrf(SECRET).token(client.cookies["mercato_csrf"])


async def test_anonymous_visitors_sign_in_first_and_customers_get_403(api):
    async with await browse(api, None) as c:
        r = await c.get("/orders")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/console/orders"
    async with await browse(api, "user:ada") as c:
        r = await c.get("/")
    assert r.status_code == 403 and "for administrators" in r.text
    assert not [call for call in api.calls if call["path"].startswith("/api/v1/ops")]


async def test_the_services_page_links_every_console_page(api):
    async with await browse(api, "admin:root") as c:
        r = await c.get("/")
    assert r.status_code == 200 and "catalog-1" in r.text
    assert "<code>127.0.0.1:50051</code>" in r.text  # its gRPC endpoint; cart has none
    for href in ("/console/orders", "/console/events", "/console/dead-letters",
                 "/console/deployments", "/console/stock", "/console/metrics",
                 "/console/audit"):
        assert f'href="{href}"' in r.text
    assert 'data-live="/console/services/live"' in r.text
    assert api.calls[0]["token"] == "admin:root"


async def test_an_order_page_shows_its_saga_and_its_trace(api):
    api.on("GET", f"/api/v1/orders/{ORDER}", 200, {
        "id": ORDER, "status": "confirmed", "total": 1000, "currency": "USD",
        "created_at": "2026-12-05T10:00:00Z", "reason": None})
    api.on("GET", f"/api/v1/ops/sagas/{ORDER}", 200, {
        "order_id": ORDER, "mode": "choreography", "phase": "confirmed", "reason": None,
        "steps": [{"name": "reserve_stock", "state": "done", "attempts": 2, "failures": 1,
                   "started_at": "2026-12-05T10:00:00Z",
                   "finished_at": "2026-12-05T10:00:00.050Z"}]})
    api.on("GET", f"/api/v1/ops/traces?order_id={ORDER}&limit=20", 200, {"items": [
        {"trace_id": "a" * 32, "root_name": "POST /api/v1/orders/*", "span_count": 1,
         "services": ["gateway"]}]})
    api.on("GET", "/api/v1/ops/traces/" + "a" * 32, 200, {"spans": [
        {"span_id": "1", "parent_span_id": "", "name": "POST /api/v1/orders/*",
         "service": "gateway", "start_unix_nano": 0, "end_unix_nano": 5_000_000,
         "status": {"code": "unset"}}]})
    async with await browse(api, "admin:root") as c:
        r = await c.get(f"/orders/{ORDER}")
    assert r.status_code == 200
    assert "choreography" in r.text and "1 retry" in r.text and 'data-final="1"' in r.text
    assert 'aria-label="Trace waterfall"' in r.text and "◀ slowest" in r.text
    assert "style=" not in r.text  # the page's CSP allows no inline style


async def test_an_unknown_order_is_a_404_page(api):
    api.on("GET", f"/api/v1/orders/{ORDER}", 404, {"detail": "not found"})
    async with await browse(api, "admin:root") as c:
        r = await c.get(f"/orders/{ORDER}")
    assert r.status_code == 404


async def test_a_replay_needs_the_forms_token_then_follows_its_copy(api):
    api.on("POST", "/api/v1/ops/dead-letters/4/replay", 200, {
        "replayed": {"event_type": "UserRegistered", "event_id": "e-1"},
        "stream": "MERCATO_IDENTITY", "stream_seq": 12, "consumer": "notifications__x"})
    async with await browse(api, "admin:root") as c:
        await c.get("/")
        forged = await c.post("/dead-letters/4/replay", data={"csrf": "0" * 64})
        assert forged.status_code == 403
        assert not [x for x in api.calls if x["method"] == "POST"]
        r = await c.post("/dead-letters/4/replay", data={"csrf": csrf(c)})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/dead-letters/replayed?")
    assert "stream=MERCATO_IDENTITY" in r.headers["location"]
    assert "seq=12" in r.headers["location"]


async def test_a_bad_stock_adjustment_is_re_rendered_and_nothing_is_written(api):
    api.on("GET", "/api/v1/catalog/products?limit=100", 200, {"items": [
        {"id": "p1", "sku": "S1", "name": "Mug", "price": 100, "currency": "USD"}]})
    api.on("GET", "/api/v1/inventory/stock/p1", 200, {
        "product_id": "p1", "on_hand": 5, "available": 4, "reserved": 1, "sold": 0})
    async with await browse(api, "admin:root") as c:
        await c.get("/stock")
        r = await c.post("/stock/p1/adjust", data={"csrf": csrf(c), "delta": "lots",
                                                   "reason": ""})
    assert r.status_code == 400
    assert "A whole number of units" in r.text and "Say why" in r.text
    assert re.search(r'id="delta-p1"[^>]*value="lots"', r.text)
    assert not [x for x in api.calls if x["method"] == "POST"]


async def test_the_audit_page_lists_who_did_what_and_when(api):
    api.on("GET", "/api/v1/ops/audit?limit=50", 200, {"items": [
        {"seq": 3, "at": "2026-12-05T10:00:00Z", "actor": "u1", "email": "root@x",
         "method": "POST", "path": "/api/v1/ops/dead-letters/7/replay", "status": 200,
         "detail": "", "address": "10.1.2.3"},
        {"seq": 2, "at": "2026-12-05T09:00:00Z", "actor": "operator:ann@box", "email": None,
         "method": "CLI", "path": "mercato keys rotate", "status": 1,
         "detail": "rotation in progress", "address": "local"}]})
    async with await browse(api, "admin:root") as c:
        r = await c.get("/audit")
    assert r.status_code == 200
    assert "root@x" in r.text and "Replayed dead letter 7" in r.text
    assert "10.1.2.3" in r.text
    assert "operator:ann@box" in r.text and "Rotated the signing keys" in r.text
    assert re.search(r'class="badge bad">exit 1<', r.text)  # a command that failed


async def test_a_method_the_page_does_not_take_is_a_405_naming_what_it_takes(api):
    async with await browse(api, "admin:root") as c:
        r = await c.put("/audit")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert "text/html" in r.headers["content-type"]

"""The gateway routes, authorises, limits and forwards one path: a path another reader
could take for a different one is refused with a 400 before anything else, and a header
that is not UTF-8 is a 401, never a 500."""

from __future__ import annotations

import json

import pytest

from mercato.gateway.paths import ambiguous
from tests.support.service_http import client
from tests.unit.gateway.test_gateway import gateway  # noqa: F401 - the fixture


@pytest.mark.parametrize(("raw", "why"), [
    (b"/api/v1/identity/./token", "a dot segment"),
    (b"/api/v1/catalog/../../metrics", "a dot segment"),
    (b"/api/v1/catalog/%2e%2e/internal/x", "a percent-encoded dot, slash or backslash"),
    (b"/api/v1/catalog/products%2Fp1", "a percent-encoded dot, slash or backslash"),
    (b"/api/v1/catalog\\products", "a backslash"),
    (b"/api/v1//identity/token", "an empty segment (// or a trailing /)"),
    (b"/api/v1/catalog/products/", "an empty segment (// or a trailing /)"),
    (b"/api/v1/catalog/products\x00", "a control character"),
])
def test_a_path_with_more_than_one_reading_is_named(raw, why):
    assert ambiguous(raw) == why


@pytest.mark.parametrize("raw", [b"/", b"/api/v1/catalog/products", b"/api/v1/orders/o-1",
                                 b"/api/v1/catalog/products/a%20b", b"/.well-known/jwks.json",
                                 b"/api/v1/catalog/products/v1.2"])
def test_a_plain_path_passes(raw):
    assert ambiguous(raw) is None


async def call_raw(app, method: str, raw_path: bytes, headers=()) -> tuple[int, dict]:
    """One request with the path exactly as a client put it on the wire (HTTP client
    libraries remove dot segments before sending)."""
    from urllib.parse import unquote_to_bytes

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": unquote_to_bytes(raw_path).decode(
                 "utf-8", "replace"), "raw_path": raw_path, "root_path": "",
             "query_string": b"", "headers": list(headers), "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8000)}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(body) if body else {}


@pytest.mark.parametrize("raw", [b"/api/v1/catalog/../../metrics",
                                 b"/api/v1/identity/./token",
                                 b"/api/v1/catalog/%2e%2e/%2e%2e/internal/products/lookup",
                                 b"/api/v1/catalog/products/"])
async def test_an_ambiguous_path_is_a_400_and_reaches_no_service(gateway, raw):  # noqa: F811
    status, problem = await call_raw(gateway, "GET", raw)
    assert status == 400
    assert "is ambiguous: it has" in problem["detail"]
    assert gateway.upstreams.calls == []


async def test_an_authorization_header_that_is_not_utf8_is_a_401(gateway):  # noqa: F811
    status, problem = await call_raw(gateway, "GET", b"/api/v1/orders",
                                     [(b"authorization", b"Bearer \xff\xfe")])
    assert status == 401, problem
    assert gateway.upstreams.calls == []


async def test_a_plain_path_is_forwarded_as_it_was_checked(gateway):  # noqa: F811
    async with client(gateway) as c:
        r = await c.get("/api/v1/catalog/products/p%20q")
    assert r.status_code == 200
    assert gateway.upstreams.calls[0][2] == "/api/v1/catalog/products/p%20q"


async def test_an_authenticated_answer_is_not_to_be_stored_and_a_public_one_may_be(
        gateway):  # noqa: F811
    async with client(gateway) as c:
        mine = await c.get("/api/v1/orders", headers={"Authorization": "Bearer customer"})
        public = await c.get("/api/v1/catalog/products")
    assert mine.status_code == public.status_code == 200
    assert mine.headers["cache-control"] == "no-store"
    assert "cache-control" not in public.headers


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT"])
async def test_the_gateways_probes_and_scrape_answer_get_and_head_only(gateway, method):  # noqa: F811
    async with client(gateway) as c:
        r = await c.request(method, "/metrics")
        live = await c.request(method, "/health/live")
        scrape = await c.get("/metrics")
    assert r.status_code == live.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert "GET and HEAD only" in r.json()["detail"]
    assert scrape.status_code == 200

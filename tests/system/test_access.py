"""Authentication and authorization at the edge and in the services."""

from __future__ import annotations

import pytest

from tests.system.platform import Platform


def test_another_users_order_is_not_found(platform: Platform):
    product = platform.new_product(stock=2)
    alice, _ = platform.new_customer()
    bob, _ = platform.new_customer()
    with platform.client(alice) as c:
        order_id = c.post("/api/v1/orders", json=platform.order_body(product["id"])).json()["id"]
    with platform.client(bob) as c:
        assert c.get(f"/api/v1/orders/{order_id}").status_code == 404
        assert c.post(f"/api/v1/orders/{order_id}/cancel").status_code == 404
        assert c.get("/api/v1/orders").json()["items"] == []
    with platform.client(platform.admin_token()) as c:
        assert c.get(f"/api/v1/orders/{order_id}").status_code == 200


@pytest.mark.parametrize("authorization", [
    None, "Bearer", "Bearer not-a-token", "Basic YWRtaW46YWRtaW4=",
    "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
])
def test_no_or_a_bad_token_is_unauthorized(platform: Platform, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    with platform.client() as c:
        for path in ("/api/v1/orders", "/api/v1/cart", "/api/v1/identity/users/me"):
            r = c.get(path, headers=headers)
            assert r.status_code == 401, (path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["status"] == 401


def test_a_customer_on_an_admin_route_is_forbidden(platform: Platform):
    token, _ = platform.new_customer()
    product = platform.new_product(stock=1)
    with platform.client(token) as c:
        assert c.post("/api/v1/catalog/products", json={
            "sku": "X-1", "name": "x", "category": "c", "price": 1}).status_code == 403
        assert c.post(f"/api/v1/inventory/stock/{product['id']}/adjustments",
                      json={"delta": 5, "reason": "steal"}).status_code == 403
        assert c.get("/api/v1/ops/services").status_code == 403


def test_every_response_carries_a_request_id_and_a_traceparent(platform: Platform):
    with platform.client() as c:
        mine = c.get("/api/v1/catalog/products", headers={"X-Request-ID": "req-123"})
        fresh = c.get("/api/v1/nothing-here")
    assert mine.headers["x-request-id"] == "req-123"
    assert fresh.status_code == 404 and len(fresh.headers["x-request-id"]) >= 16
    for r in (mine, fresh):
        version, trace, span, _flags = r.headers["traceparent"].split("-")
        assert (version, len(trace), len(span)) == ("00", 32, 16)
    traced = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with platform.client() as c:
        r = c.get("/api/v1/catalog/products", headers={"traceparent": traced})
    assert r.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


def test_the_jwks_is_public_and_the_ops_services_list_every_instance(platform: Platform):
    with platform.client() as c:
        keys = c.get("/.well-known/jwks.json").json()["keys"]
    assert keys and all(k["kty"] == "OKP" and k["alg"] == "EdDSA" for k in keys)
    with platform.client(platform.admin_token()) as c:
        items = c.get("/api/v1/ops/services").json()["items"]
    services = {i["service"] for i in items}
    assert {"identity", "catalog", "inventory", "cart", "orders", "payments", "shipping",
            "notifications", "gateway"} <= services
    assert all(i["health"] == "ready" and i["address"].startswith("http://127.0.0.1:")
               for i in items)


def raw_get(platform: Platform, raw_path: str, method: str = "GET",
            body: bytes | None = None) -> tuple[int, bytes]:
    """A request whose path goes on the wire exactly as written (httpx, like browsers,
    removes dot segments before sending; an attacker's client does not)."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(platform.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        conn.request(method, raw_path, body=body,
                     headers={"content-type": "application/json"} if body else {})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize("raw_path", [
    "/api/v1/catalog/../../metrics",            # a service's own scrape
    "/api/v1/catalog/%2e%2e/%2e%2e/openapi.json",
    "/api/v1/catalog/../../internal/products/lookup",
    "/api/v1/identity/./token",                 # the sign-in, past its per-email limit
    "/api/v1//catalog/products",
    "/api/v1/catalog/products/",                # was a 307 naming the instance's address
])
def test_a_path_with_two_readings_is_refused_by_the_real_gateway(platform: Platform,
                                                                  raw_path):
    body = b'{"email": "a@example.com", "password": "x"}' if "token" in raw_path else None
    status, answer = raw_get(platform, raw_path, "POST" if body else "GET", body)
    assert status == 400, answer
    assert b"is ambiguous" in answer
    assert b"127.0.0.1:" not in answer  # no instance's address
    assert raw_get(platform, "/api/v1/catalog/products?limit=1")[0] == 200

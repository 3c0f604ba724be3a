"""OWASP API5:2023 Broken Function Level Authorization, against the running platform.

Every admin and operations route (docs/api.md, gateway/policy.py) is a 401 without a
token and a 403 with a customer's, and the refused call changed nothing; a service asked
on its own port with a customer's token refuses the admin commands too (defence in
depth). Services' `/internal/...` routes are never reachable through the gateway: not by
their path, not under /api/v1, not by dot segments, encoded dots or slashes, double
slashes, an absolute-form request target, or rewrite headers (400 or 404, never a 2xx
and never the 403 that would show the route exists behind the check).
"""

from __future__ import annotations

import uuid

import pytest

from tests.security.helpers import customer, service_addresses
from tests.security.raw import raw_request
from tests.system.platform import Platform

OID = "00000000-0000-4000-8000-000000000000"
PID = "11111111-1111-4111-8111-111111111111"
ADMIN_ROUTES = [
    ("GET", "/api/v1/ops/services"),
    ("GET", "/api/v1/ops/breakers"),
    ("GET", f"/api/v1/ops/sagas/{OID}"),
    ("GET", "/api/v1/ops/dead-letters"),
    ("GET", "/api/v1/ops/dead-letters/1"),
    ("POST", "/api/v1/ops/dead-letters/1/replay"),
    ("GET", "/api/v1/ops/consumers/MERCATO_ORDERS/payments?seq=1"),
    ("GET", "/api/v1/ops/events"),
    ("GET", "/api/v1/ops/audit"),
    ("GET", "/api/v1/ops/metrics/series"),
    ("GET", "/api/v1/ops/deployments"),
    ("POST", "/api/v1/ops/deployments/catalog/promote"),
    ("POST", "/api/v1/ops/deployments/catalog/rollback"),
    ("GET", "/api/v1/ops/anything-else"),
    ("DELETE", "/api/v1/ops/services"),
    ("GET", "/api/v1/orders/summary"),
    ("GET", "/api/v1/orders/recent"),
    ("HEAD", "/api/v1/orders/recent"),
    ("POST", "/api/v1/catalog/products"),
    ("PATCH", f"/api/v1/catalog/products/{PID}"),
    ("PUT", f"/api/v1/catalog/products/{PID}"),
    ("DELETE", f"/api/v1/catalog/products/{PID}"),
    ("POST", f"/api/v1/inventory/stock/{PID}/adjustments"),
    ("PUT", f"/api/v1/inventory/stock/{PID}"),
    ("DELETE", f"/api/v1/inventory/stock/{PID}"),
]
BODY = {"sku": "X", "name": "X", "category": "x", "price": 1, "delta": 5, "reason": "x"}


@pytest.fixture(scope="module")
def shopper(platform: Platform) -> str:
    return customer(platform).token


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_an_admin_route_is_401_without_a_token_and_403_for_a_customer(
        platform: Platform, shopper, method, path):
    body = None if method in ("GET", "HEAD", "DELETE") else BODY
    with platform.client() as c:
        anonymous = c.request(method, path, json=body)
    with platform.client(shopper) as c:
        customer_answer = c.request(method, path, json=body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert customer_answer.status_code == 403, customer_answer.text


def test_refused_admin_commands_changed_nothing(platform: Platform, shopper):
    product = platform.new_product(stock=4, price=700)
    sku = f"SKU-{uuid.uuid4().hex[:12]}"
    with platform.client(shopper) as c:
        c.post("/api/v1/catalog/products", json={**BODY, "sku": sku, "currency": "USD"})
        c.patch(f"/api/v1/catalog/products/{product['id']}", json={"price": 1})
        c.post(f"/api/v1/inventory/stock/{product['id']}/adjustments",
               json={"delta": 1000, "reason": "mine"})
    with platform.client() as c:
        after = c.get(f"/api/v1/catalog/products/{product['id']}").json()
        found = c.get("/api/v1/catalog/products", params={"q": sku}).json()["items"]
    assert after["price"] == 700
    assert found == []
    assert platform.stock(product["id"])["on_hand"] == 4


@pytest.mark.parametrize(("service", "method", "path"), [
    ("catalog", "POST", "/api/v1/catalog/products"),
    ("catalog", "PATCH", f"/api/v1/catalog/products/{PID}"),
    ("inventory", "POST", f"/api/v1/inventory/stock/{PID}/adjustments"),
    ("orders", "GET", "/api/v1/orders/summary"),
])
def test_a_service_refuses_an_admin_command_from_a_customer_on_its_own_port(
        platform: Platform, shopper, service, method, path):
    address = service_addresses(platform)[service]
    with platform.client(shopper) as c:
        r = c.request(method, address + path, json=None if method == "GET" else BODY)
    assert r.status_code in (401, 403), r.text


INTERNAL = ["/internal/products/lookup", "/internal/carts/u1", "/internal/reservations",
            "/internal/payments/authorize", "/internal/shipments", "/internal/notifications",
            "/internal/allowlist"]


@pytest.mark.parametrize("path", INTERNAL + [f"/api/v1{p}" for p in INTERNAL] + [
    "/api/v1/catalog/internal/products/lookup", "/api/v1/cart/internal/carts/u1",
    "/api/v1/payments/internal/payments/authorize"])
@pytest.mark.parametrize("who", ["anonymous", "customer", "admin"])
def test_an_internal_route_is_not_found_through_the_gateway(platform: Platform, shopper,
                                                            path, who):
    token = {"anonymous": None, "customer": shopper,
             "admin": platform.admin_token()}[who]
    with platform.client(token) as c:
        answers = [c.get(path), c.post(path, json={"ids": []})]
    for r in answers:
        if who == "anonymous" and path.startswith("/api/v1/") and r.status_code == 401:
            continue  # a user route's token check comes first; nothing shows past it
        if who == "customer" and r.status_code == 403 and path.startswith(
                ("/api/v1/catalog/", "/api/v1/inventory/")):
            continue  # catalog and inventory writes are admin routes at the gateway
        assert r.status_code == 404, (r.request.method, r.status_code, r.text)


@pytest.mark.parametrize("target", [
    "/api/v1/orders/../../internal/carts/u1",
    "/api/v1/orders/../internal/carts/u1",
    "/api/v1/catalog/%2e%2e/%2e%2e/internal/products/lookup",
    "/api/v1/catalog/%2E%2E/%2E%2E/internal/products/lookup",
    "/api/v1/catalog/..%2f..%2finternal/products/lookup",
    "/api/v1/catalog/%2e%2e%2f%2e%2e%2finternal%2fproducts%2flookup",
    "/api/v1/catalog/..%5c..%5cinternal/products/lookup",
    "/api/v1/catalog/..\\..\\internal/products/lookup",
    "//internal/products/lookup",
    "/api/v1//internal/products/lookup",
    "/api/v1/catalog//internal/products/lookup",
    "/api/v1/catalog/./../../internal/products/lookup",
    "/api/v1/catalog/%252e%252e/%252e%252e/internal/products/lookup",
    "/api/v1/catalog;/../../internal/products/lookup",
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_path_tricks_toward_an_internal_route_are_refused(platform: Platform, target,
                                                          method):
    status, _, body = raw_request(platform.url, method, target,
                                  {"Authorization": f"Bearer {platform.admin_token()}",
                                   "Content-Type": "application/json"},
                                  b'{"ids": []}' if method == "POST" else None)
    assert status in (400, 404), (status, body[:300])
    assert b'"products"' not in body and b'"items"' not in body


@pytest.mark.parametrize("service", ["catalog", "cart"])
def test_an_absolute_form_target_or_a_rewrite_header_reaches_no_service(platform: Platform,
                                                                        service):
    address = service_addresses(platform)[service]
    internal = {"catalog": "/internal/products/lookup", "cart": "/internal/carts/u1"}[service]
    admin = {"Authorization": f"Bearer {platform.admin_token()}"}
    status, _, body = raw_request(platform.url, "GET", address + internal, admin)
    assert status in (400, 404), (status, body[:300])
    with platform.client(platform.admin_token()) as c:
        for header in ("X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Prefix"):
            r = c.get("/api/v1/catalog/categories", headers={header: internal})
            assert r.status_code == 200 and "items" in r.json(), r.text  # the public route
            assert "products" not in r.json()

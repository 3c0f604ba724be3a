"""The documented success bodies against real answers with something in them.

schemathesis' own cases mostly see empty lists (an order id it drew has no payments, no
shipments, no messages) and carts it filled at random; here one customer's journey makes
each public list and answer non-empty: a cart with a line the catalog no longer sells in
its currency, an order confirmed and one cancelled, its payments, shipments and messages,
the admin's sales summary. Each answer is checked against the published document with
schemathesis' own validation (the same as its response_schema_conformance check).
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis

from tests.system.platform import ADMIN, Platform, wait_for

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def document(contract_platform: Platform):
    with contract_platform.client() as c:
        r = c.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return schemathesis.openapi.from_dict(r.json())


def conforms(document, method: str, path: str, r: httpx.Response, status: int = 200) -> dict:
    """``r`` is a ``status`` answer whose body is as ``document`` says for ``method path``."""
    assert r.status_code == status, (method, r.request.url, r.status_code, r.text[:300])
    document[path][method].validate_response(r)  # raises on a body unlike its schema
    return r.json()


def test_the_identity_answers_are_as_documented(contract_platform: Platform, document):
    user = {"email": "bodies@example.com", "password": "s3cret-pass", "name": "Bodies"}
    with contract_platform.client() as c:
        conforms(document, "POST", "/api/v1/identity/users",
                 c.post("/api/v1/identity/users", json=user), 201)
        tokens = conforms(document, "POST", "/api/v1/identity/token",
                          c.post("/api/v1/identity/token",
                                 json={"email": user["email"], "password": user["password"]}))
        conforms(document, "POST", "/api/v1/identity/token/refresh",
                 c.post("/api/v1/identity/token/refresh",
                        json={"refresh_token": tokens["refresh_token"]}))
    with contract_platform.client(tokens["access_token"]) as c:
        me = conforms(document, "GET", "/api/v1/identity/users/me",
                      c.get("/api/v1/identity/users/me"))
    assert me["email"] == user["email"]


def test_a_cart_with_a_line_no_longer_sold_is_as_documented(contract_platform: Platform,
                                                              document):
    token, _ = contract_platform.new_customer()
    kept, changed = contract_platform.new_product(5), contract_platform.new_product(5)
    put = "/api/v1/cart/items/{product_id}"
    with contract_platform.client(token) as c:
        for product in (kept, changed):
            conforms(document, "PUT", put,
                     c.put(f"/api/v1/cart/items/{product['id']}", json={"quantity": 2}))
        with contract_platform.client(contract_platform.admin_token()) as admin:
            r = admin.patch(f"/api/v1/catalog/products/{changed['id']}",
                            json={"currency": "EUR"})
            assert r.status_code == 200, r.text

        def unavailable() -> dict | None:
            cart = conforms(document, "GET", "/api/v1/cart", c.get("/api/v1/cart"))
            return cart if any(i.get("unavailable") for i in cart["items"]) else None

        cart = wait_for(unavailable, 10, "the cart to see the product's new currency")
        assert cart["total"] == 2 * kept["price"]
        conforms(document, "PUT", put,
                 c.put(f"/api/v1/cart/items/{changed['id']}", json={"quantity": 0}))


def test_orders_and_what_they_lead_to_are_as_documented(contract_platform: Platform,
                                                       document):
    token, _ = contract_platform.new_customer()
    product = contract_platform.new_product(10)
    body = contract_platform.order_body(product["id"])
    with contract_platform.client(token) as c:
        placed = conforms(document, "POST", "/api/v1/orders", c.post("/api/v1/orders",
                                                                      json=body), 202)
        assert contract_platform.wait_terminal(token, placed["id"])["status"] == "confirmed"
        other = c.post("/api/v1/orders", json=body).json()
        conforms(document, "POST", "/api/v1/orders/{order_id}/cancel",
                 c.post(f"/api/v1/orders/{other['id']}/cancel"), 202)
        assert contract_platform.wait_terminal(token, other["id"])["status"] == "cancelled"
        for order_id in (placed["id"], other["id"]):
            conforms(document, "GET", "/api/v1/orders/{order_id}",
                     c.get(f"/api/v1/orders/{order_id}"))

        def listed(path: str, params: dict, n: int = 1):
            def found() -> bool:
                answer = conforms(document, "GET", path, c.get(path, params=params))
                return len(answer["items"]) >= n
            wait_for(found, 10, f"{path} {params} to list {n}")

        listed("/api/v1/orders", {}, 2)
        listed("/api/v1/payments", {"order_id": placed["id"]})
        listed("/api/v1/shipping/shipments", {"order_id": placed["id"]})
        listed("/api/v1/notifications", {})
    admin = contract_platform.login(ADMIN["email"], ADMIN["password"])
    with contract_platform.client(admin) as c:
        summary = conforms(document, "GET", "/api/v1/orders/summary",
                           c.get("/api/v1/orders/summary"))
    assert summary["totals"] and summary["by_day"] and summary["by_product"]

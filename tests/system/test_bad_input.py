"""Bad input gets a clear 4xx problem naming the field, and nothing is written."""

from __future__ import annotations

import uuid

import pytest

from tests.system.platform import Platform


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail", "correlation_id"} <= body.keys()
    assert body["correlation_id"] == r.headers["x-request-id"]
    assert "Traceback" not in r.text
    return body


@pytest.mark.parametrize(("field", "value"), [
    ("price", 19.99), ("price", "1999"), ("price", -1), ("currency", "usd"),
    ("sku", ""), ("name", None), ("category", 7),
])
def test_a_bad_product_field_is_named_and_nothing_is_created(platform: Platform, field, value):
    sku = f"BAD-{uuid.uuid4().hex[:8]}"
    body = {"sku": sku, "name": "n", "category": "c", "price": 100, "currency": "USD"}
    body[field] = value
    with platform.client(platform.admin_token()) as c:
        detail = problem(c.post("/api/v1/catalog/products", json=body), 422)["detail"]
        listed = c.get("/api/v1/catalog/products", params={"q": sku}).json()["items"]
    assert field in detail
    assert listed == []


def test_malformed_json_is_a_bad_request(platform: Platform):
    with platform.client() as c:
        r = c.post("/api/v1/identity/users", content=b'{"email": "x@y.z", "password": ',
                   headers={"content-type": "application/json"})
    assert "JSON" in problem(r, 400)["detail"]


def test_a_two_megabyte_body_is_refused_as_too_large(platform: Platform):
    token, _ = platform.new_customer()
    big = b'{"items": "' + b"x" * 2_000_000 + b'"}'
    with platform.client(token) as c:
        r = c.post("/api/v1/orders", content=big, headers={"content-type": "application/json"})
        problem(r, 413)
        assert c.get("/api/v1/orders").json()["items"] == []


@pytest.mark.parametrize(("change", "named"), [
    ({"items": [{"product_id": "P", "quantity": -1}]}, "items.0.quantity"),
    ({"items": [{"product_id": "P", "quantity": 0}]}, "items.0.quantity"),
    ({"items": [{"product_id": "P", "quantity": 1.5}]}, "items.0.quantity"),
    ({"items": [{"product_id": "P", "quantity": "2"}]}, "items.0.quantity"),
    ({"items": []}, "items"),
    ({"payment": {}}, "payment.card_token"),
    ({"shipping_address": {"name": "A"}}, "shipping_address.line1"),
])
def test_a_bad_order_is_refused_naming_the_field_and_nothing_is_written(
    platform: Platform, change, named,
):
    product = platform.new_product(stock=3)
    token, _ = platform.new_customer()
    body = platform.order_body(product["id"])
    for key, value in change.items():
        if key == "items":
            value = [dict(i, product_id=product["id"]) for i in value]
        body[key] = value
    with platform.client(token) as c:
        detail = problem(c.post("/api/v1/orders", json=body), 422)["detail"]
        assert c.get("/api/v1/orders").json()["items"] == []
    assert named in detail
    assert platform.stock(product["id"])["available"] == 3


def test_an_order_for_an_unknown_product_names_it(platform: Platform):
    token, _ = platform.new_customer()
    missing = str(uuid.uuid4())
    with platform.client(token) as c:
        r = c.post("/api/v1/orders", json=platform.order_body(missing))
        body = problem(r, 422)
        assert c.get("/api/v1/orders").json()["items"] == []
    assert "items[0].product_id" in body["detail"] and missing in body["detail"]


def test_stock_can_never_be_adjusted_below_zero(platform: Platform):
    product = platform.new_product(stock=2)
    with platform.client(platform.admin_token()) as c:
        r = c.post(f"/api/v1/inventory/stock/{product['id']}/adjustments",
                   json={"delta": -3, "reason": "shrinkage"})
        problem(r, 409)
        r = c.post(f"/api/v1/inventory/stock/{product['id']}/adjustments",
                   json={"delta": 1.5, "reason": "x"})
        assert "delta" in problem(r, 422)["detail"]
    assert platform.stock(product["id"])["on_hand"] == 2


def test_a_negative_cart_quantity_is_refused(platform: Platform):
    product = platform.new_product(stock=1)
    token, _ = platform.new_customer()
    with platform.client(token) as c:
        r = c.put(f"/api/v1/cart/items/{product['id']}", json={"quantity": -2})
        assert "quantity" in problem(r, 422)["detail"]
        assert c.get("/api/v1/cart").json()["items"] == []


@pytest.mark.parametrize("name", ["Eve\nBcc: victim@example.com", "Eve\r", "Eve\x00",
                                  "Eve\u2028Mallory", "   "])
def test_a_name_on_more_than_one_line_is_refused_and_no_user_is_made(platform: Platform, name):
    email = f"eve-{uuid.uuid4().hex[:8]}@example.com"
    with platform.client() as c:
        body = problem(c.post("/api/v1/identity/users", json={
            "email": email, "password": "correct horse battery", "name": name}), 422)
        signin = c.post("/api/v1/identity/token",
                        json={"email": email, "password": "correct horse battery"})
    assert "name" in body["detail"]
    assert ("one line" in body["detail"]) or ("blank" in body["detail"])
    assert signin.status_code == 401


def test_an_address_line_with_a_line_break_is_refused_and_no_order_is_written(
        platform: Platform):
    product = platform.new_product(stock=2)
    token, _ = platform.new_customer()
    body = platform.order_body(product["id"])
    body["shipping_address"] = dict(body["shipping_address"], line1="1 Main St\r\nX-Evil: 1")
    with platform.client(token) as c:
        detail = problem(c.post("/api/v1/orders", json=body), 422)["detail"]
        assert c.get("/api/v1/orders").json()["items"] == []
    assert "shipping_address.line1" in detail and "one line" in detail
    assert platform.stock(product["id"])["available"] == 2

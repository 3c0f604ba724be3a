"""OWASP API4:2023 Unrestricted Resource Consumption, against the running platform.

What one request may ask for is bounded: page sizes, search text, the body (413, also
when it comes chunked or its length is a lie), the lines of an order and each line's
quantity, a cart line. How often: sign-ins per address and per account are limited (the
429s are in test_api2_authentication.py; the per-address and per-user buckets of every
request in tests/system/test_rate_limits.py, with tight limits), and checkouts by their
number in progress per customer (test_api6_business_flows.py and
tests/system/test_checkout_fairness.py). The connection itself (a client that never
finishes its request, megabytes of headers) is not bounded by the gateway yet; its tests
come with that fix (gateway/bootstrap.py).
"""

from __future__ import annotations

import socket

import pytest

from tests.security.helpers import customer
from tests.security.raw import raw_request
from tests.system.platform import Platform

MAX_BODY = 1_000_000  # MERCATO_MAX_BODY_BYTES' default


@pytest.fixture(scope="module")
def buyer(platform: Platform):
    """One customer for the module: every order and cart line it tries is refused."""
    return customer(platform)


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/catalog/products?limit=101", 422),
    ("/api/v1/catalog/products?limit=1000000", 422),
    ("/api/v1/catalog/products?limit=0", 422),
    ("/api/v1/catalog/products?limit=-1", 422),
    ("/api/v1/orders?limit=101", 422),
    ("/api/v1/notifications?limit=201", 422),
])
def test_a_page_larger_than_the_cap_is_refused(platform: Platform, buyer, path, status):
    with platform.client(buyer.token) as c:
        r = c.get(path)
    assert r.status_code == status, r.text
    assert "limit" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/ops/events?limit=201",
                                  "/api/v1/orders/recent?limit=201",
                                  "/api/v1/ops/audit?limit=100000"])
def test_an_admin_page_larger_than_the_cap_is_refused(platform: Platform, path):
    with platform.client(platform.admin_token()) as c:
        r = c.get(path)
    assert r.status_code in (400, 422), r.text
    assert "limit" in r.json()["detail"]


def test_the_largest_page_holds_at_most_its_cap(platform: Platform):
    with platform.client() as c:
        r = c.get("/api/v1/catalog/products", params={"limit": 100})
    assert r.status_code == 200 and len(r.json()["items"]) <= 100


@pytest.mark.parametrize(("param", "size"), [("q", 201), ("category", 101), ("cursor", 501)])
def test_search_text_longer_than_its_bound_is_refused(platform: Platform, param, size):
    with platform.client() as c:
        r = c.get("/api/v1/catalog/products", params={param: "a" * size})
        ok = c.get("/api/v1/catalog/products", params={"q": "a" * 200})
    assert r.status_code == 422, r.text
    assert param in r.json()["detail"]
    assert ok.status_code == 200


def test_a_chunked_body_past_the_limit_is_refused_without_reading_it_all(platform: Platform):
    def chunks():
        for _ in range(40):  # 2.6 MB, in 64 KiB chunks, with no Content-Length
            yield b" " * 65536

    with platform.client() as c:
        r = c.post("/api/v1/identity/users", content=chunks(),
                   headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_a_declared_length_past_the_limit_is_refused_before_the_body(platform: Platform):
    """Content-Length says 100 MB, 10 bytes follow: the 413 comes at once, without
    waiting for the rest."""
    host, port = platform.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /api/v1/identity/users HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
                  b'{"email":')
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize("length", ["-1", "1e9", "0x10", "99999999999999999999999"])
def test_a_content_length_that_is_no_number_is_refused(platform: Platform, length):
    status, _, body = raw_request(platform.url, "POST", "/api/v1/identity/users",
                                  {"Content-Length": length, "Content-Type":
                                   "application/json"})
    assert status in (400, 413), body


def test_an_order_of_more_lines_than_allowed_is_refused(platform: Platform, buyer):
    product = platform.new_product(stock=100)
    body = platform.order_body(product["id"])
    body["items"] = [{"product_id": product["id"], "quantity": 1}] * 51
    with platform.client(buyer.token) as c:
        r = c.post("/api/v1/orders", json=body)
        listed = c.get("/api/v1/orders").json()["items"]
    assert r.status_code == 422 and "items" in r.json()["detail"], r.text
    assert listed == []


@pytest.mark.parametrize("quantity", [0, -1, 100, 10**9, 2**63])
def test_an_order_line_quantity_out_of_bounds_is_refused(platform: Platform, buyer,
                                                         quantity):
    product = platform.new_product(stock=5)
    with platform.client(buyer.token) as c:
        r = c.post("/api/v1/orders", json=platform.order_body(product["id"], quantity))
        listed = c.get("/api/v1/orders").json()["items"]
    assert r.status_code == 422 and "quantity" in r.json()["detail"], r.text
    assert listed == []
    assert platform.stock(product["id"])["available"] == 5


@pytest.mark.parametrize("quantity", [-1, 100, 10**9, 1.5, "3"])
def test_a_cart_quantity_out_of_bounds_is_refused(platform: Platform, buyer, quantity):
    product = platform.new_product(stock=5)
    with platform.client(buyer.token) as c:
        r = c.put(f"/api/v1/cart/items/{product['id']}", json={"quantity": quantity})
        cart = c.get("/api/v1/cart").json()
    assert r.status_code == 422, r.text
    assert cart["items"] == []


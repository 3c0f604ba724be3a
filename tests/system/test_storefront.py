"""The storefront view of an order on the whole platform: the gateway composes the order
with its products, payment, shipment and notifications; with shipping frozen (SIGSTOP) the
shipment section is marked unavailable, the rest is there, and the answer does not wait
for shipping longer than the section timeout."""

from __future__ import annotations

import os
import signal
import time

import httpx

from mercato.gateway.storefront import SECTION_TIMEOUT
from tests.system.platform import Platform

# Without the section timeout a frozen shipping would hold the view for the whole call
# timeout (5 s by default); this bound is well above the section's and below that.
QUICK = 4.5


def placed_order(platform: Platform) -> tuple[str, dict, dict]:
    token, _user = platform.new_customer()
    product = platform.new_product(stock=5, price=1250)
    with platform.client(token) as c:
        r = c.post("/api/v1/orders", json=platform.order_body(product["id"], quantity=2))
    assert r.status_code == 202, r.text
    order = platform.wait_terminal(token, r.json()["id"])
    assert order["status"] == "confirmed", order
    return token, order, product


def settled_view(platform: Platform, token: str, order_id: str, timeout: float = 30.0):
    """The view once the shipment and the confirmation message have arrived (both follow
    the order's confirmation by events)."""
    deadline = time.monotonic() + timeout
    with platform.client(token) as c:
        while time.monotonic() < deadline:
            r = c.get(f"/api/v1/storefront/orders/{order_id}")
            assert r.status_code == 200, r.text
            body = r.json()
            if body["shipment"] and body["notifications"]:
                return body
            time.sleep(0.2)
    raise AssertionError(f"no shipment and notification in the view after {timeout}s: {body}")


def unavailable(section) -> bool:
    return isinstance(section, dict) and section.get("unavailable") is True


def test_the_view_composes_an_order_and_only_its_customer_sees_it(platform: Platform):
    token, order, product = placed_order(platform)
    body = settled_view(platform, token, order["id"])
    assert body["order"]["id"] == order["id"] and body["order"]["status"] == "confirmed"
    assert body["products"][product["id"]]["name"] == product["name"]
    assert body["payment"]["order_id"] == order["id"]
    assert body["payment"]["amount"] == 2500
    assert body["shipment"]["order_id"] == order["id"]
    assert {n["order_id"] for n in body["notifications"]} == {order["id"]}

    stranger, _ = platform.new_customer()
    with platform.client(stranger) as c:
        assert c.get(f"/api/v1/storefront/orders/{order['id']}").status_code == 404
        assert c.get("/api/v1/storefront/orders/no-such-order").status_code == 404
    with platform.client() as c:
        assert c.get(f"/api/v1/storefront/orders/{order['id']}").status_code == 401
    with platform.client(platform.admin_token()) as c:
        seen = c.get(f"/api/v1/storefront/orders/{order['id']}").json()
    assert seen["shipment"]["id"] == body["shipment"]["id"]
    assert [n["id"] for n in seen["notifications"]] == [n["id"] for n in body["notifications"]]


def test_a_frozen_shipping_is_a_section_marked_unavailable_and_the_rest_is_there(
    platform: Platform,
):
    token, order, product = placed_order(platform)
    settled_view(platform, token, order["id"])
    pid = platform.pid_of("shipping")
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with httpx.Client(base_url=platform.url, timeout=QUICK,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            r = c.get(f"/api/v1/storefront/orders/{order['id']}")
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    print(f"storefront view with shipping frozen: {took:.2f} s "
          f"(section timeout {SECTION_TIMEOUT} s)")
    assert r.status_code == 200, r.text
    body = r.json()
    assert unavailable(body["shipment"]), body["shipment"]
    assert body["shipment"]["reason"].startswith("shipping: ")
    assert body["order"]["id"] == order["id"]
    assert body["products"][product["id"]]["id"] == product["id"]
    assert body["payment"]["order_id"] == order["id"]
    assert not unavailable(body["notifications"]) and body["notifications"]

    again = settled_view(platform, token, order["id"])  # shipping answers again
    assert again["shipment"]["order_id"] == order["id"]

"""The mobile backend-for-frontend on the whole platform, through the gateway: the home
screen in one request, the compact order with its timeline, a GraphQL query for an order
with its products and notifications that costs the BFF one call per service (counted from
its own client metrics), a query over the depth limit refused, and with shipping frozen
(SIGSTOP) the query answers the other fields plus an error entry naming shipping."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.system.platform import Platform

ORDER_QUERY = """
query Order($id: ID!) {
  order(id: $id) {
    id status
    timeline { status at }
    items { quantity product { id name price currency } }
    shipment { status trackingNumber }
    notifications { subject }
  }
}"""


def placed_order(p: Platform) -> tuple[str, dict, dict]:
    token, _user = p.new_customer()
    product = p.new_product(stock=5, price=1250)
    with p.client(token) as c:
        r = c.post("/api/v1/orders", json=p.order_body(product["id"], quantity=2))
    assert r.status_code == 202, r.text
    order = p.wait_terminal(token, r.json()["id"])
    assert order["status"] == "confirmed", order
    return token, order, product


def graphql(p: Platform, token: str, query: str, variables: dict | None = None,
            timeout: float = 10.0) -> httpx.Response:
    with httpx.Client(base_url=p.url, timeout=timeout,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        return c.post("/api/mobile/graphql", json={"query": query, "variables": variables})


def settled_order(p: Platform, token: str, order_id: str, timeout: float = 30.0) -> dict:
    """The GraphQL order once its shipment and confirmation message have arrived (both
    follow the confirmation by events)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = graphql(p, token, ORDER_QUERY, {"id": order_id})
        assert r.status_code == 200, r.text
        order = r.json()["data"]["order"]
        if order["shipment"] and order["notifications"]:
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"no shipment and notification after {timeout}s: {r.json()}")


def calls_by_service(p: Platform) -> Counter:
    """The mobile BFF's calls to each service so far (its client histogram's counts)."""
    with p.client(p.admin_token()) as c:
        items = c.get("/api/v1/ops/services").json()["items"]
    [address] = [i["address"] for i in items if i["service"] == "mobile-bff"]
    text = httpx.get(f"{address}/metrics", timeout=10).text
    counts: Counter = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "http_client_request_duration_seconds_count":
                counts[s.labels["mercato_upstream_service"]] += int(s.value)
    return counts


def test_the_home_screen_answers_in_one_request(platform: Platform):
    token, order, product = placed_order(platform)
    with platform.client(token) as c:
        assert c.put(f"/api/v1/cart/items/{product['id']}",
                     json={"quantity": 3}).status_code == 200
        r = c.get("/api/mobile/v1/home")
    assert r.status_code == 200, r.text
    home = r.json()
    assert home["errors"] == []
    assert home["featured"] and all(set(p) == {"id", "name", "price", "currency"}
                                    for p in home["featured"])
    assert home["cart"] == {"item_count": 3}
    assert home["last_order"]["id"] == order["id"]
    assert home["last_order"]["status"] == "confirmed"
    with platform.client() as c:
        assert c.get("/api/mobile/v1/home").status_code == 401


def test_the_compact_order_has_a_timeline_and_only_its_customer_sees_it(platform: Platform):
    token, order, product = placed_order(platform)
    with platform.client(token) as c:
        r = c.get(f"/api/mobile/v1/orders/{order['id']}")
    assert r.status_code == 200, r.text
    compact = r.json()
    assert compact["status"] == "confirmed" and compact["total"] == 2500
    assert compact["items"] == [{"product_id": product["id"], "name": product["name"],
                                 "quantity": 2}]
    statuses = [step["status"] for step in compact["timeline"]]
    assert statuses[0] == "pending" and statuses[-1] == "confirmed"
    stranger, _ = platform.new_customer()
    with platform.client(stranger) as c:
        assert c.get(f"/api/mobile/v1/orders/{order['id']}").status_code == 404


def test_a_graphql_order_with_products_and_notifications_costs_one_call_per_service(
    platform: Platform,
):
    token, order, product = placed_order(platform)
    settled_order(platform, token, order["id"])
    before = calls_by_service(platform)
    r = graphql(platform, token, ORDER_QUERY, {"id": order["id"]})
    made = calls_by_service(platform) - before
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    got = body["data"]["order"]
    assert got["items"] == [{"quantity": 2, "product": {
        "id": product["id"], "name": product["name"], "price": 1250, "currency": "USD"}}]
    assert got["shipment"]["status"] and got["notifications"]
    assert [t["status"] for t in got["timeline"]][-1] == "confirmed"
    assert made == Counter({"orders": 1, "catalog": 1, "shipping": 1, "notifications": 1})


def test_a_query_over_the_depth_limit_is_refused_with_a_clear_error(platform: Platform):
    token, _ = platform.new_customer()
    nested = "order { notifications { " * 4
    deep = "{ notifications { " + nested + "subject" + " } }" * 4 + " } }"
    r = graphql(platform, token, deep)
    assert r.status_code == 400, r.text
    assert r.json()["data"] is None
    assert "exceeds maximum operation depth of 6" in r.json()["errors"][0]["message"]


def test_with_shipping_frozen_the_query_answers_the_rest_and_an_error_entry(
    platform: Platform,
):
    token, order, product = placed_order(platform)
    settled_order(platform, token, order["id"])
    pid = platform.pid_of("shipping")
    os.kill(pid, signal.SIGSTOP)
    try:
        r = graphql(platform, token, ORDER_QUERY, {"id": order["id"]}, timeout=4.5)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r.status_code == 200, r.text
    body = r.json()
    got = body["data"]["order"]
    assert got["shipment"] is None
    assert got["status"] == "confirmed" and got["notifications"]
    assert got["items"][0]["product"]["id"] == product["id"]
    [error] = body["errors"]
    assert error["path"] == ["order", "shipment"]
    assert error["extensions"]["service"] == "shipping"
    assert error["message"].startswith("shipping: ")
    assert settled_order(platform, token, order["id"])["data"]["order"]["shipment"]

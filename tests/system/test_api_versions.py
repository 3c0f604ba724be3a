"""v1 and v2 of orders through the gateway, for the same order: v1 answers as recorded
before v2 existed (tests/contract/examples) and says it is deprecated (Deprecation,
Sunset, Link to its successor), v2 answers in its own shape, as its published document
says, and both tell the same order."""

from __future__ import annotations

from calendar import timegm
from email.utils import format_datetime, parsedate_to_datetime

import schemathesis

from mercato.gateway.bootstrap import EdgeSettings
from tests.contract.shapes import assert_shaped_as_recorded
from tests.system.platform import Platform, wait_for

V1_HEADERS = ("deprecation", "sunset", "link")


def deprecated_towards(r, successor: str) -> None:
    """``r`` says its route is deprecated, since and until the settings' dates, and where
    its successor is (the test runs with the platform's environment)."""
    edge = EdgeSettings()
    assert r.headers["deprecation"] == f"@{timegm(edge.api_v1_deprecated.timetuple())}"
    sunset = parsedate_to_datetime(r.headers["sunset"])
    assert sunset.date() == edge.api_v1_sunset
    assert r.headers["sunset"] == format_datetime(sunset, usegmt=True)
    assert r.headers["link"] == f'<{successor}>; rel="successor-version"'


def test_one_order_read_by_v1_and_v2_agrees_and_v1_says_it_is_deprecated(platform: Platform):
    product = platform.new_product(stock=5, price=1250)
    token, _ = platform.new_customer()
    with platform.client(token) as c:
        placed = c.post("/api/v1/orders", json=platform.order_body(product["id"], 2))
        assert_shaped_as_recorded("v1_order_placed", placed.status_code, placed.json())
        order_id = placed.json()["id"]
        deprecated_towards(placed, "/api/v2/orders")
        platform.wait_terminal(token, order_id)
        v1 = c.get(f"/api/v1/orders/{order_id}")
        v2 = c.get(f"/api/v2/orders/{order_id}")
    assert_shaped_as_recorded("v1_order", v1.status_code, v1.json())
    deprecated_towards(v1, f"/api/v2/orders/{order_id}")
    assert v2.status_code == 200, v2.text
    assert not set(V1_HEADERS) & set(v2.headers)
    old, new = v1.json(), v2.json()
    assert (new["id"], new["status"], new["customer_id"]) == (
        order_id, "confirmed", old["customer_id"])
    assert new["total"] == {"amount": 2500, "currency": "USD"} == {
        "amount": old["total"], "currency": old["currency"]}
    assert [(t["status"], t["at"]) for t in new["timeline"]] == [
        (h["status"], h["at"]) for h in old["history"]] == [
        ("pending", old["created_at"]), ("confirmed", old["history"][1]["at"])]
    assert [(x["product_id"], x["quantity"], x["unit_price"]["amount"], x["amount"]["amount"])
            for x in new["items"]] == [(product["id"], 2, 1250, 2500)]
    assert new["links"] == {"self": f"/api/v2/orders/{order_id}",
                            "shipment": f"/api/v1/shipping/shipments?order_id={order_id}",
                            "payment": f"/api/v1/payments?order_id={order_id}"}
    with platform.client(token) as c:
        payments = c.get(new["links"]["payment"]).json()["items"]
        shipments = c.get(new["links"]["shipment"]).json()["items"]
    assert [p["status"] for p in payments] == ["captured"]
    assert [s["order_id"] for s in shipments] == [order_id]


def test_an_order_placed_by_v2_is_listed_by_both_and_as_documented(platform: Platform):
    product = platform.new_product(stock=5, price=700)
    token, _ = platform.new_customer()
    with platform.client() as c:
        document = c.get("/api/v1/openapi.json").json()
        only_v2 = c.get("/api/v2/openapi.json").json()
        options = c.options("/api/v2/orders")
    assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    schema = schemathesis.openapi.from_dict(document)
    with platform.client(token) as c:
        placed = c.post("/api/v2/orders", json=platform.order_body(product["id"], 3))
        assert placed.status_code == 202, placed.text
        schema["/api/v2/orders"]["POST"].validate_response(placed)
        order_id = placed.json()["id"]
        assert placed.headers["location"] == f"/api/v2/orders/{order_id}"
        assert placed.json()["total"] == {"amount": 2100, "currency": "USD"}
        assert platform.wait_terminal(token, order_id)["status"] == "confirmed"
        v2 = c.get(f"/api/v2/orders/{order_id}")
        schema["/api/v2/orders/{order_id}"]["GET"].validate_response(v2)

        def listed_by_both():
            old, new = c.get("/api/v1/orders"), c.get("/api/v2/orders")
            newest = [(r.json()["items"] or [{}])[0].get("status") for r in (old, new)]
            return (old, new) if newest == ["confirmed", "confirmed"] else None

        old, new = wait_for(listed_by_both, 10, "the lists to show the order confirmed")
    assert_shaped_as_recorded("v1_orders", old.status_code, old.json())
    deprecated_towards(old, "/api/v2/orders")
    schema["/api/v2/orders"]["GET"].validate_response(new)
    assert old.json()["items"][0]["id"] == new.json()["items"][0]["id"] == order_id
    assert new.json()["items"][0]["total"] == {"amount": 2100, "currency": "USD"}
    operations = document["paths"]
    assert operations["/api/v1/orders/{order_id}"]["get"]["deprecated"] is True
    assert "deprecated" not in operations["/api/v2/orders/{order_id}"]["get"]
    assert "deprecated" not in operations["/api/v1/orders/{order_id}/cancel"]["post"]
    assert set(only_v2["paths"]) == {"/api/v2/orders", "/api/v2/orders/{order_id}"}

"""Integration events between services, observed the way a user would: over HTTP through
the gateway, and in the mail the platform writes. Events are asynchronous, so every check
polls briefly for its effect. On both stacks (the ``stack`` fixture: SQLite and one NATS
server, or PostgreSQL, three NATS nodes and Redis)."""

from __future__ import annotations

import mailbox
import time
from collections import Counter

from tests.system.platform import Platform

WAIT = 20.0


def eventually(read, done, timeout: float = WAIT):
    """``read()`` until ``done`` holds for its value; the last value either way."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def notifications(platform: Platform, token: str) -> list[dict]:
    with platform.client(token) as c:
        r = c.get("/api/v1/notifications", params={"limit": 200})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_confirmed_order_from_the_cart_empties_the_cart(stack: Platform):
    platform = stack
    first, second = platform.new_product(stock=5, price=300), platform.new_product(stock=5)
    token, _ = platform.new_customer()
    with platform.client(token) as c:
        assert c.put(f"/api/v1/cart/items/{first['id']}", json={"quantity": 2}).status_code == 200
        assert c.put(f"/api/v1/cart/items/{second['id']}",
                     json={"quantity": 1}).status_code == 200
        body = platform.order_body(first["id"])
        del body["items"]
        body["from_cart"] = True
        r = c.post("/api/v1/orders", json=body)
        assert r.status_code == 202, r.text
        assert platform.wait_terminal(token, r.json()["id"])["status"] == "confirmed"
        cart = eventually(lambda: c.get("/api/v1/cart").json(), lambda v: not v["items"])
    assert cart == {"items": [], "total": 0, "currency": "USD"}


def test_order_outcomes_a_shipment_and_a_refund_are_each_notified_once(stack: Platform):
    platform = stack
    product = platform.new_product(stock=3, price=700)
    token, user = platform.new_customer()
    with platform.client(token) as c:
        ok = c.post("/api/v1/orders", json=platform.order_body(product["id"], 2)).json()
        bad = c.post("/api/v1/orders",
                     json=platform.order_body(product["id"], 1, "tok_decline")).json()
        assert platform.wait_terminal(token, ok["id"])["status"] == "confirmed"
        assert platform.wait_terminal(token, bad["id"])["status"] == "cancelled"
        [shipment] = c.get("/api/v1/shipping/shipments",
                           params={"order_id": ok["id"]}).json()["items"]
        assert c.post(f"/api/v1/orders/{ok['id']}/cancel").status_code == 202
        eventually(lambda: c.get(f"/api/v1/orders/{ok['id']}").json()["status"],
                   lambda status: status == "cancelled")
    expected = Counter({(ok["id"], "order_confirmed"): 1, (ok["id"], "shipment_scheduled"): 1,
                        (ok["id"], "order_cancelled"): 1, (ok["id"], "payment_refunded"): 1,
                        (bad["id"], "order_cancelled"): 1})
    items = eventually(lambda: notifications(platform, token),
                       lambda v: len(v) >= sum(expected.values()))
    time.sleep(1.5)  # a duplicate would arrive about as fast as the first
    items = notifications(platform, token)
    assert Counter((n["order_id"], n["kind"]) for n in items) == expected
    said = {(n["order_id"], n["kind"]): n["body"] for n in items}
    assert f"Tracking number: {shipment['tracking_number']}." in said[
        (ok["id"], "shipment_scheduled")]
    assert "Your payment of 14.00 USD has been refunded." in said[(ok["id"], "order_cancelled")]
    assert "We refunded 14.00 USD to your card." in said[(ok["id"], "payment_refunded")]
    assert "the payment was declined. You have not been charged." in said[
        (bad["id"], "order_cancelled")]
    # Mailed once each, to the address the customer registered with.
    ids = {f"<{n['id']}@mercato.local>" for n in items}

    def mailed() -> list:
        box = mailbox.mbox(platform.data_dir / "notifications" / "outbox.mbox")
        return [m for m in box if m["Message-ID"] in ids]

    mails = eventually(mailed, lambda v: len(v) >= len(ids))
    assert sorted(m["Message-ID"] for m in mails) == sorted(ids)
    assert {m["To"] for m in mails} == {user["email"]}


def test_a_new_product_has_a_stock_record_of_zeros(stack: Platform):
    platform = stack
    product = platform.new_product(stock=0)

    def read():
        with platform.client() as c:
            return c.get(f"/api/v1/inventory/stock/{product['id']}")

    reply = eventually(read, lambda r: r.status_code == 200)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"product_id": product["id"], "on_hand": 0, "available": 0,
                            "reserved": 0, "sold": 0}

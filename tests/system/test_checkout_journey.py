"""The checkout journey through the gateway, as a user and an admin would drive it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.system.platform import Platform


def test_register_login_and_me_show_no_password_material(stack: Platform):
    token, user = stack.new_customer()
    assert user["roles"] == ["customer"]
    with stack.client(token) as c:
        me = c.get("/api/v1/identity/users/me")
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]
    text = me.text.lower()
    assert "password" not in text and "argon2" not in text and "hash" not in text


def test_registering_the_same_email_twice_is_a_conflict(stack: Platform):
    _, user = stack.new_customer()
    with stack.client() as c:
        again = c.post("/api/v1/identity/users", json={
            "email": user["email"], "password": "another-pass", "name": "Again"})
    assert again.status_code == 409


def test_a_good_card_confirms_the_order_and_moves_stock_to_sold(stack: Platform):
    product = stack.new_product(stock=5, price=1250)
    token, _ = stack.new_customer()
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=stack.order_body(product["id"], 2))
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/orders/{r.json()['id']}"
    order = stack.wait_terminal(token, r.json()["id"])
    assert order["status"] == "confirmed"
    assert order["total"] == 2500 and order["currency"] == "USD"
    assert [h["status"] for h in order["history"]] == ["pending", "confirmed"]
    assert stack.stock(product["id"]) == {
        "product_id": product["id"], "on_hand": 5, "available": 3, "reserved": 0, "sold": 2}
    with stack.client(token) as c:
        payments = c.get("/api/v1/payments", params={"order_id": order["id"]}).json()["items"]
        shipments = c.get("/api/v1/shipping/shipments",
                          params={"order_id": order["id"]}).json()["items"]
        listed = c.get("/api/v1/orders").json()["items"]
    assert [(p["status"], p["amount"]) for p in payments] == [("captured", 2500)]
    assert shipments[0]["status"] == "scheduled" and shipments[0]["tracking_number"]
    assert listed[0]["id"] == order["id"]


def test_a_declined_card_cancels_the_order_and_releases_all_stock(stack: Platform):
    product = stack.new_product(stock=4)
    token, _ = stack.new_customer()
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=stack.order_body(product["id"], 3, "tok_decline"))
    order = stack.wait_terminal(token, r.json()["id"])
    assert (order["status"], order["history"][-1]["reason"]) == ("cancelled", "payment_declined")
    stock = stack.stock(product["id"])
    assert (stock["available"], stock["reserved"], stock["sold"]) == (4, 0, 0)


def test_a_failing_provider_cancels_with_payment_unavailable_after_bounded_retries(
    stack: Platform,
):
    product = stack.new_product(stock=2)
    token, _ = stack.new_customer()
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=stack.order_body(product["id"], 1, "tok_error"))
    order = stack.wait_terminal(token, r.json()["id"])
    assert (order["status"], order["reason"]) == ("cancelled", "payment_unavailable")
    assert stack.stock(product["id"])["available"] == 2
    with stack.client(token) as c:
        payments = c.get("/api/v1/payments", params={"order_id": order["id"]}).json()["items"]
    assert all(p["status"] != "captured" for p in payments)


def test_the_customer_is_notified_of_confirmation_and_cancellation(stack: Platform):
    product = stack.new_product(stock=3)
    token, _ = stack.new_customer()
    with stack.client(token) as c:
        ok = c.post("/api/v1/orders", json=stack.order_body(product["id"])).json()
        bad = c.post("/api/v1/orders",
                     json=stack.order_body(product["id"], 1, "tok_decline")).json()
    stack.wait_terminal(token, ok["id"])
    stack.wait_terminal(token, bad["id"])
    with stack.client(token) as c:
        outcomes = []
        for _ in range(200):  # the messages come from events: allow them a moment
            items = c.get("/api/v1/notifications").json()["items"]
            # the confirmed order's shipment is notified too; only order outcomes count here
            outcomes = sorted((n["order_id"], n["kind"]) for n in items
                              if n["kind"].startswith("order_"))
            if len(outcomes) >= 2:
                break
            time.sleep(0.05)
    assert outcomes == sorted([(ok["id"], "order_confirmed"), (bad["id"], "order_cancelled")])


def test_cancelling_a_confirmed_order_refunds_it_and_returns_its_stock(stack: Platform):
    product = stack.new_product(stock=3, price=700)
    token, _ = stack.new_customer()
    with stack.client(token) as c:
        placed = c.post("/api/v1/orders", json=stack.order_body(product["id"], 2)).json()
        stack.wait_terminal(token, placed["id"])
        assert c.post(f"/api/v1/orders/{placed['id']}/cancel").status_code == 202
        deadline = time.monotonic() + 30  # a bound in time, not in requests: under load
        while time.monotonic() < deadline:  # the undo takes several events' round trips
            order = c.get(f"/api/v1/orders/{placed['id']}").json()
            if order["status"] == "cancelled":
                break
            time.sleep(0.05)
        payments = c.get("/api/v1/payments", params={"order_id": placed["id"]}).json()["items"]
    assert [h["status"] for h in order["history"]] == ["pending", "confirmed", "cancelled"]
    assert [p["status"] for p in payments] == ["refunded"]
    stock = stack.stock(product["id"])
    assert (stock["available"], stock["sold"]) == (3, 0)


def test_many_concurrent_buyers_for_a_few_units_confirm_exactly_that_many(stack: Platform):
    units, buyers = 5, 30
    product = stack.new_product(stock=units)
    customers = [stack.new_customer()[0] for _ in range(buyers)]

    def buy(token: str) -> tuple[str, str]:
        with stack.client(token) as c:
            r = c.post("/api/v1/orders", json=stack.order_body(product["id"]))
        assert r.status_code == 202, r.text
        return token, r.json()["id"]

    with ThreadPoolExecutor(buyers) as pool:
        placed = list(pool.map(buy, customers))
    outcomes = [stack.wait_terminal(t, oid, timeout=60) for t, oid in placed]
    confirmed = [o for o in outcomes if o["status"] == "confirmed"]
    assert len(confirmed) == units
    assert {o["reason"] for o in outcomes if o["status"] == "cancelled"} == {"out_of_stock"}
    stock = stack.stock(product["id"])
    assert (stock["available"], stock["reserved"], stock["sold"]) == (0, 0, units)


def test_the_same_idempotency_key_returns_the_same_order_and_a_new_body_is_refused(
    stack: Platform,
):
    product = stack.new_product(stock=10)
    token, _ = stack.new_customer()
    body = stack.order_body(product["id"], 1)
    with stack.client(token) as c:
        headers = {"Idempotency-Key": "checkout-42"}
        first = c.post("/api/v1/orders", json=body, headers=headers)
        second = c.post("/api/v1/orders", json=body, headers=headers)
        changed = c.post("/api/v1/orders", json=stack.order_body(product["id"], 2),
                         headers=headers)
        listed = c.get("/api/v1/orders").json()["items"]
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["detail"]
    assert len(listed) == 1
    stack.wait_terminal(token, first.json()["id"])
    assert stack.stock(product["id"])["sold"] == 1


def test_a_provider_slower_than_its_timeout_cancels_with_payment_unavailable(
    stack: Platform,
):
    product = stack.new_product(stock=2)
    token, _ = stack.new_customer()
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=stack.order_body(product["id"], 1, "tok_slow"))
    order = stack.wait_terminal(token, r.json()["id"], timeout=60)
    assert (order["status"], order["reason"]) == ("cancelled", "payment_unavailable")
    assert stack.stock(product["id"])["available"] == 2


def test_an_undeliverable_address_cancels_and_voids_the_authorization(stack: Platform):
    product = stack.new_product(stock=2)
    token, _ = stack.new_customer()
    body = stack.order_body(product["id"])
    body["shipping_address"]["country"] = "AQ"  # shipping does not serve Antarctica
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=body)
        order = stack.wait_terminal(token, r.json()["id"])
        payments = c.get("/api/v1/payments", params={"order_id": order["id"]}).json()["items"]
    assert (order["status"], order["reason"]) == ("cancelled", "shipping_unavailable")
    assert [p["status"] for p in payments] == ["voided"]
    assert stack.stock(product["id"])["available"] == 2


def test_an_order_from_the_cart_uses_the_cart_items_at_catalog_prices(stack: Platform):
    first, second = stack.new_product(stock=5, price=300), stack.new_product(stock=5,
                                                                                   price=450)
    token, _ = stack.new_customer()
    with stack.client(token) as c:
        assert c.put(f"/api/v1/cart/items/{first['id']}", json={"quantity": 2}).status_code == 200
        cart = c.put(f"/api/v1/cart/items/{second['id']}", json={"quantity": 1}).json()
        assert cart["total"] == 2 * 300 + 450
        body = stack.order_body(first["id"])
        del body["items"]
        body["from_cart"] = True
        r = c.post("/api/v1/orders", json=body)
    assert r.status_code == 202, r.text
    order = stack.wait_terminal(token, r.json()["id"])
    assert order["status"] == "confirmed" and order["total"] == 1050
    assert sorted((i["product_id"], i["quantity"]) for i in order["items"]) == sorted(
        [(first["id"], 2), (second["id"], 1)])

"""The orders read models through the gateway: the customer's list and an order's detail
after a confirmed and a cancelled order, the admin sales summary, and a rebuild with
``mercato projections rebuild`` that changes nothing a reader sees."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from tests.system.platform import Platform


def poll(fetch, until, timeout: float = 10.0):
    """``fetch()`` again until ``until(result)``: the read models follow the commits."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if until(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def by_product(stack: Platform) -> dict[str, dict]:
    with stack.client(stack.admin_token()) as c:
        r = c.get("/api/v1/orders/summary")
    assert r.status_code == 200, r.text
    return {row["product_id"]: row for row in r.json()["by_product"]}


def place(stack: Platform, token: str, product_id: str, quantity: int) -> str:
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=stack.order_body(product_id, quantity))
        assert r.status_code == 202, r.text
        # read right after the write: never a 404 for one's own fresh order
        fresh = c.get(f"/api/v1/orders/{r.json()['id']}")
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["status"] in ("pending", "confirmed")
    return r.json()["id"]


def test_list_detail_and_summary_after_a_confirmed_and_a_cancelled_order(stack: Platform):
    kept_product = stack.new_product(stock=5, price=1250)
    refunded_product = stack.new_product(stock=5, price=700)
    token, user = stack.new_customer()
    kept = place(stack, token, kept_product["id"], 2)
    assert stack.wait_terminal(token, kept)["status"] == "confirmed"
    refunded = place(stack, token, refunded_product["id"], 3)
    assert stack.wait_terminal(token, refunded)["status"] == "confirmed"
    with stack.client(token) as c:
        assert c.post(f"/api/v1/orders/{refunded}/cancel").status_code == 202

    with stack.client(token) as c:
        def listed():
            return c.get("/api/v1/orders").json()["items"]

        items = poll(listed, lambda xs: [x["status"] for x in xs] == ["cancelled", "confirmed"])
        detail = poll(lambda: c.get(f"/api/v1/orders/{refunded}").json(),
                      lambda d: d["status"] == "cancelled")
        kept_detail = c.get(f"/api/v1/orders/{kept}").json()
    assert items == [
        {"id": refunded, "status": "cancelled", "total": 2100, "currency": "USD",
         "created_at": detail["created_at"], "item_count": 3},
        {"id": kept, "status": "confirmed", "total": 2500, "currency": "USD",
         "created_at": kept_detail["created_at"], "item_count": 2},
    ]
    assert (detail["customer_id"], detail["reason"]) == (user["id"], "customer_request")
    assert [h["status"] for h in detail["history"]] == ["pending", "confirmed", "cancelled"]
    assert [(i["product_id"], i["quantity"], i["amount"]) for i in detail["items"]] == [
        (refunded_product["id"], 3, 2100)]
    assert [h["status"] for h in kept_detail["history"]] == ["pending", "confirmed"]

    sold = poll(lambda: by_product(stack),
                lambda rows: refunded_product["id"] not in rows and kept_product["id"] in rows)
    assert sold[kept_product["id"]] == {
        "product_id": kept_product["id"], "name": kept_product["name"], "currency": "USD",
        "orders": 1, "units": 2, "revenue": 2500}
    assert refunded_product["id"] not in sold  # confirmed, then refunded: not a sale


def test_a_customer_gets_403_on_the_summary_and_404_on_another_customers_order(
    stack: Platform,
):
    product = stack.new_product(stock=2)
    owner, _ = stack.new_customer()
    other, _ = stack.new_customer()
    order_id = place(stack, owner, product["id"], 1)
    with stack.client(other) as c:
        summary = c.get("/api/v1/orders/summary")
        assert summary.status_code == 403, summary.text
        assert summary.headers["content-type"].startswith("application/problem+json")
        assert c.get(f"/api/v1/orders/{order_id}").status_code == 404
        assert c.get("/api/v1/orders").json()["items"] == []


def test_rebuilding_the_read_models_from_the_cli_changes_nothing_a_reader_sees(
    stack: Platform,
):
    product = stack.new_product(stock=5, price=900)
    token, _ = stack.new_customer()
    kept = place(stack, token, product["id"], 1)
    refunded = place(stack, token, product["id"], 2)
    for order_id in (kept, refunded):
        assert stack.wait_terminal(token, order_id)["status"] == "confirmed"
    with stack.client(token) as c:
        assert c.post(f"/api/v1/orders/{refunded}/cancel").status_code == 202

        def seen() -> tuple:
            return (c.get("/api/v1/orders").json()["items"],
                    [c.get(f"/api/v1/orders/{o}").json() for o in (kept, refunded)],
                    by_product(stack).get(product["id"]))

        before = poll(seen, lambda s: [o["status"] for o in s[0]] == ["cancelled", "confirmed"]
                      and s[2] is not None and s[2]["orders"] == 1)
        done = subprocess.run([sys.executable, "-m", "mercato", "projections", "rebuild"],
                              env=stack.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert re.fullmatch(r"orders: rebuilt from (\d+) events \(position \1\)", lines[0])
        rows = dict(re.fullmatch(r"\s+(\w+)\s+(\d+) rows", x).groups() for x in lines[1:])
        assert set(rows) == {"order_list_view", "order_detail_view", "sales_orders",
                             "sales_by_day", "sales_by_product"}
        assert int(rows["order_list_view"]) >= 2
        assert seen() == before
    assert before[2] == {"product_id": product["id"], "name": product["name"],
                         "currency": "USD", "orders": 1, "units": 1, "revenue": 900}

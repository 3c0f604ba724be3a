"""`mercato verify` on a running platform, and the saga of an order as operators see it
(GET /api/v1/ops/sagas/{order_id})."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid

from tests.system.platform import Platform

INVARIANTS = ["stock conserved", "sold matches confirmed orders", "money conserved",
              "no order charged twice", "nothing stuck", "every event consumed",
              "delivered orders were confirmed and shipped"]
FORWARD = ["reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
           "confirm_order"]


def verify(platform: Platform, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mercato", "verify", *args],
                          env=platform.env, capture_output=True, text=True, timeout=120)


def place(platform: Platform, token: str, product_id: str, quantity: int, card: str) -> str:
    with platform.client(token) as c:
        r = c.post("/api/v1/orders", json=platform.order_body(product_id, quantity, card))
    assert r.status_code == 202, r.text
    return r.json()["id"]


def saga(platform: Platform, order_id: str, token: str | None = None):
    with platform.client(token or platform.admin_token()) as c:
        return c.get(f"/api/v1/ops/sagas/{order_id}")


def test_after_good_declined_and_refunded_orders_every_invariant_holds(platform: Platform):
    product = platform.new_product(stock=6, price=900)
    token, _ = platform.new_customer()
    good = place(platform, token, product["id"], 2, "tok_ok")
    declined = place(platform, token, product["id"], 1, "tok_decline")
    refunded = place(platform, token, product["id"], 1, "tok_ok")
    assert platform.wait_terminal(token, good)["status"] == "confirmed"
    assert platform.wait_terminal(token, declined)["status"] == "cancelled"
    assert platform.wait_terminal(token, refunded)["status"] == "confirmed"
    with platform.client(token) as c:
        assert c.post(f"/api/v1/orders/{refunded}/cancel").status_code == 202

    result = verify(platform, "--wait-idle", "30")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for number, name in enumerate(INVARIANTS, 1):
        assert any(line.startswith(f"ok   {number}. {name}: ") for line in lines), lines
    assert lines[-1].startswith(f"All {len(INVARIANTS)} invariants hold")
    with platform.client(token) as c:
        assert c.get(f"/api/v1/orders/{refunded}").json()["status"] == "cancelled"
    assert platform.stock(product["id"]) == {"product_id": product["id"], "on_hand": 6,
                                             "available": 4, "reserved": 0, "sold": 2}
    report = json.loads(verify(platform, "--json").stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == INVARIANTS


def test_a_capture_no_order_accounts_for_fails_verify_and_is_named(platform: Platform):
    """A payment written behind the services' backs: money no longer adds up."""
    order_id = f"verify-test-{uuid.uuid4().hex[:8]}"
    db = sqlite3.connect(platform.data_dir / "payments" / "payments.db", timeout=10)
    try:
        with db:
            db.execute("INSERT INTO payments (id, order_id, customer_id, amount, currency,"
                       " status, created_at, updated_at) VALUES (?, ?, 'nobody', 777, 'USD',"
                       " 'captured', '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z')",
                       (f"pay-{order_id}", order_id))
        result = verify(platform, "--json")
    finally:
        with db:
            db.execute("DELETE FROM payments WHERE order_id = ?", (order_id,))
        db.close()
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert not checks["money conserved"]["ok"]
    assert (f"order {order_id} (unknown to orders): captured - refunded 777, expected 0"
            in checks["money conserved"]["violations"])
    assert checks["no order charged twice"]["ok"]


def test_the_saga_of_a_confirmed_order_lists_every_step_done(platform: Platform):
    product = platform.new_product(stock=2)
    token, _ = platform.new_customer()
    order_id = place(platform, token, product["id"], 1, "tok_ok")
    assert platform.wait_terminal(token, order_id)["status"] == "confirmed"

    r = saga(platform, order_id)

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["order_id"], body["phase"], body["reason"], body["cancel_requested"],
            body["refunded"]) == (order_id, "confirmed", None, False, False)
    assert body["version"] >= 2  # saved at least before and after a step
    assert [s["name"] for s in body["steps"]] == FORWARD
    for step in body["steps"]:
        assert step["state"] == "done" and step["attempts"] == 1 and step["failures"] == 0
        assert step["started_at"] <= step["finished_at"]
        assert set(step) == {"name", "state", "attempts", "failures", "started_at",
                             "finished_at", "detail"}


def test_the_saga_of_a_declined_order_shows_the_rejection_and_the_release(platform: Platform):
    product = platform.new_product(stock=2)
    token, _ = platform.new_customer()
    order_id = place(platform, token, product["id"], 1, "tok_decline")
    assert platform.wait_terminal(token, order_id)["status"] == "cancelled"

    body = saga(platform, order_id).json()

    assert (body["phase"], body["reason"]) == ("cancelled", "payment_declined")
    states = {s["name"]: s["state"] for s in body["steps"]}
    assert states == {"reserve_stock": "compensated", "authorize_payment": "rejected",
                      "release_stock": "done"}
    assert next(s for s in body["steps"] if s["name"] == "authorize_payment")[
        "detail"].startswith("402")


def test_the_saga_of_an_unknown_order_is_not_found_and_customers_may_not_look(
        platform: Platform):
    r = saga(platform, str(uuid.uuid4()))
    assert r.status_code == 404
    assert "was not found" in r.json()["detail"]
    customer, _ = platform.new_customer()
    assert saga(platform, str(uuid.uuid4()), customer).status_code == 403

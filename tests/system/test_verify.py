"""`mercato verify` on a running stack, and the saga of an order as operators see it
(GET /api/v1/ops/sagas/{order_id})."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

from mercato.chassis.data import PostgresDatabase, SqliteDatabase
from tests.system.platform import Platform

INVARIANTS = ["stock conserved", "sold matches confirmed orders", "money conserved",
              "no order charged twice", "nothing stuck", "every event consumed",
              "delivered orders were confirmed and shipped", "points credited once"]
FORWARD = ["reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
           "confirm_order"]


def verify(stack: Platform, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mercato", "verify", *args],
                          env=stack.env, capture_output=True, text=True, timeout=120)


def in_payments(stack: Platform, sql: str, *params) -> None:
    """Run one statement in the payments database of ``stack``, behind the service's back:
    its SQLite file, or its PostgreSQL database (through the chassis adapter, same SQL)."""
    async def run() -> None:
        url = stack.env.get("MERCATO_PAYMENTS_DATABASE_URL")
        db = (await PostgresDatabase.open(url, max_size=1) if url
              else SqliteDatabase(stack.data_dir / "payments" / "payments.db"))
        try:
            async with db.transaction() as tx:
                await tx.execute(sql, *params)
        finally:
            await db.close()
    asyncio.run(run())


def place(stack: Platform, token: str, product_id: str, quantity: int, card: str) -> str:
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=stack.order_body(product_id, quantity, card))
    assert r.status_code == 202, r.text
    return r.json()["id"]


def saga(stack: Platform, order_id: str, token: str | None = None):
    with stack.client(token or stack.admin_token()) as c:
        return c.get(f"/api/v1/ops/sagas/{order_id}")


def test_after_good_declined_and_refunded_orders_every_invariant_holds(stack: Platform):
    product = stack.new_product(stock=6, price=900)
    token, _ = stack.new_customer()
    good = place(stack, token, product["id"], 2, "tok_ok")
    declined = place(stack, token, product["id"], 1, "tok_decline")
    refunded = place(stack, token, product["id"], 1, "tok_ok")
    assert stack.wait_terminal(token, good)["status"] == "confirmed"
    assert stack.wait_terminal(token, declined)["status"] == "cancelled"
    assert stack.wait_terminal(token, refunded)["status"] == "confirmed"
    with stack.client(token) as c:
        assert c.post(f"/api/v1/orders/{refunded}/cancel").status_code == 202

    result = verify(stack, "--wait-idle", "30")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for number, name in enumerate(INVARIANTS, 1):
        assert any(line.startswith(f"ok   {number}. {name}: ") for line in lines), lines
    assert lines[-1].startswith(f"All {len(INVARIANTS)} invariants hold")
    with stack.client(token) as c:
        assert c.get(f"/api/v1/orders/{refunded}").json()["status"] == "cancelled"
    assert stack.stock(product["id"]) == {"product_id": product["id"], "on_hand": 6,
                                             "available": 4, "reserved": 0, "sold": 2}
    report = json.loads(verify(stack, "--json").stdout)
    assert report["ok"] is True, [(c["name"], c["figures"], c["violations"])
                                  for c in report["checks"] if not c["ok"]]
    assert [c["name"] for c in report["checks"]] == INVARIANTS


def test_a_capture_no_order_accounts_for_fails_verify_and_is_named(stack: Platform):
    """A payment written behind the services' backs: money no longer adds up."""
    order_id = f"verify-test-{uuid.uuid4().hex[:8]}"
    payment = (f"pay-{order_id}", order_id)
    in_payments(stack, "INSERT INTO payments (id, order_id, customer_id, amount, currency,"
                " status, created_at, updated_at) VALUES (?, ?, 'nobody', 777, 'USD',"
                " 'captured', '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z')", *payment)
    try:
        result = verify(stack, "--json")
    finally:
        in_payments(stack, "DELETE FROM payments WHERE order_id = ?", order_id)
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert not checks["money conserved"]["ok"]
    assert (f"order {order_id} (unknown to orders): captured - refunded 777, expected 0"
            in checks["money conserved"]["violations"])
    assert checks["no order charged twice"]["ok"]


def test_the_saga_of_a_confirmed_order_lists_every_step_done(stack: Platform):
    product = stack.new_product(stock=2)
    token, _ = stack.new_customer()
    order_id = place(stack, token, product["id"], 1, "tok_ok")
    assert stack.wait_terminal(token, order_id)["status"] == "confirmed"

    r = saga(stack, order_id)

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


def test_the_saga_of_a_declined_order_shows_the_rejection_and_the_release(stack: Platform):
    product = stack.new_product(stock=2)
    token, _ = stack.new_customer()
    order_id = place(stack, token, product["id"], 1, "tok_decline")
    assert stack.wait_terminal(token, order_id)["status"] == "cancelled"

    body = saga(stack, order_id).json()

    assert (body["phase"], body["reason"]) == ("cancelled", "payment_declined")
    states = {s["name"]: s["state"] for s in body["steps"]}
    assert states == {"reserve_stock": "compensated", "authorize_payment": "rejected",
                      "release_stock": "done"}
    assert next(s for s in body["steps"] if s["name"] == "authorize_payment")[
        "detail"].startswith("402")


def test_the_saga_of_an_unknown_order_is_not_found_and_customers_may_not_look(
        stack: Platform):
    r = saga(stack, str(uuid.uuid4()))
    assert r.status_code == 404
    assert "was not found" in r.json()["detail"]
    customer, _ = stack.new_customer()
    assert saga(stack, str(uuid.uuid4()), customer).status_code == 403

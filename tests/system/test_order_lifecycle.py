"""The order after its confirmation, through the gateway: the simulated courier (fast here:
MERCATO_COURIER_SPEEDUP=30, delivered ~6 s after the confirmation) labels the shipment,
takes it (the order is shipped) and delivers it (delivered); the customer is told both, the
timeline shows every milestone, a shipped order cannot be cancelled, a declined or
cancelled order never ships, and `mercato verify` holds. test_order_lifecycle_choreography
runs these again with a choreographed checkout.

Its own stack: on the shared one, orders stay confirmed (the demo's pace) for the
tests that look at confirmed orders; the fast-courier platform is shared with
test_loyalty's."""

from __future__ import annotations

import time

import pytest

from tests.system.platform import Platform, wait_for
from tests.system.shared import SharedPlatforms
from tests.system.stacks import STACKS
from tests.system.test_verify import verify

SPEEDUP = "30"
STEPS = ["placed", "reserved", "paid", "shipment_scheduled", "confirmed", "shipped",
         "delivered"]


# The fast-courier platforms, by (stack, saga mode): shared with test_loyalty and
# test_order_lifecycle_choreography (tests/system/shared.py), whose tests on them use their
# own customers and products and leave every order ended.
FAST_COURIER = {("embedded", "orchestration"): "fast-courier",
                ("production", "orchestration"): "fast-courier-production",
                ("embedded", "choreography"): "fast-courier-choreography"}

pytestmark = pytest.mark.shared_platform(
    by="stack", keys={stack: FAST_COURIER[stack, "orchestration"] for stack in STACKS})


def fast_courier(shared_platforms: SharedPlatforms, stack: str, mode: str) -> Platform:
    """The shared platform with a fast courier on ``stack`` in saga ``mode``."""
    return shared_platforms.get(FAST_COURIER[stack, mode], stack,
                                MERCATO_SAGA_MODE=mode, MERCATO_COURIER_SPEEDUP=SPEEDUP)


@pytest.fixture(scope="module", params=STACKS)
def stack(request, shared_platforms) -> Platform:
    """This module's platform (a fast courier), on each stack in turn."""
    return fast_courier(shared_platforms, request.param, "orchestration")


def place(stack: Platform, token: str, product_id: str, card: str = "tok_ok") -> str:
    with stack.client(token) as c:
        r = c.post("/api/v1/orders", json=stack.order_body(product_id, 1, card))
    assert r.status_code == 202, r.text
    return r.json()["id"]


def watch(stack: Platform, token: str, order_id: str, until: str,
          timeout: float = 30.0) -> tuple[dict, list[str]]:
    """Poll the order until its status is ``until``: the order, and each status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with stack.client(token) as c:
        while time.monotonic() < deadline:
            order = c.get(f"/api/v1/orders/{order_id}").json()
            if not seen or seen[-1] != order["status"]:
                seen.append(order["status"])
            if order["status"] == until:
                return order, seen
            time.sleep(0.05)
    raise AssertionError(f"order {order_id} never {until}; seen {seen}")


def messages(stack: Platform, token: str, order_id: str) -> list[dict]:
    with stack.client(token) as c:
        r = c.get("/api/v1/notifications", params={"order_id": order_id})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def shipments(stack: Platform, token: str, order_id: str) -> list[dict]:
    with stack.client(token) as c:
        r = c.get("/api/v1/shipping/shipments", params={"order_id": order_id})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_paid_order_is_shipped_then_delivered_and_the_customer_told_both(stack):
    product = stack.new_product(stock=3, price=1500)
    token, _ = stack.new_customer()
    order_id = place(stack, token, product["id"])

    order, seen = watch(stack, token, order_id, "delivered")

    assert [s for s in seen if s != "pending"] == ["confirmed", "shipped", "delivered"]
    assert [h["status"] for h in order["history"]] == [
        "pending", "confirmed", "shipped", "delivered"]
    times = [h["at"] for h in order["history"]]
    assert times == sorted(times)
    assert [p["step"] for p in order["progress"]] == STEPS
    assert all(p["at"] for p in order["progress"])
    assert [s["status"] for s in shipments(stack, token, order_id)] == ["delivered"]
    kinds = wait_for(lambda: {m["kind"]: m for m in messages(stack, token, order_id)
                              if m["kind"] in ("order_shipped", "order_delivered")}
                     if len([m for m in messages(stack, token, order_id)
                             if m["kind"] in ("order_shipped", "order_delivered")]) == 2
                     else None, 20, "the shipped and delivered messages")
    assert kinds["order_shipped"]["subject"] == f"Your order {order_id[:8]} has shipped"
    assert kinds["order_delivered"]["subject"] == (
        f"Your order {order_id[:8]} has been delivered")
    with stack.client(token) as c:
        listed = c.get("/api/v1/orders").json()["items"]
    assert [(o["id"], o["status"]) for o in listed] == [(order_id, "delivered")]


def test_cancelling_a_shipped_order_is_refused_with_a_409_and_changes_nothing(stack):
    product = stack.new_product(stock=3, price=700)
    token, _ = stack.new_customer()
    order_id = place(stack, token, product["id"])
    watch(stack, token, order_id, "shipped")

    with stack.client(token) as c:
        refused = c.post(f"/api/v1/orders/{order_id}/cancel")
        payments = c.get("/api/v1/payments", params={"order_id": order_id}).json()["items"]

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/order-shipped")
    assert "can no longer be cancelled" in problem["detail"]
    assert [(p["status"], p["amount"]) for p in payments] == [("captured", 700)]
    order, _ = watch(stack, token, order_id, "delivered")  # the courier goes on
    assert order["reason"] is None
    with stack.client(token) as c:
        again = c.post(f"/api/v1/orders/{order_id}/cancel")
    assert again.status_code == 409 and again.json()["order_status"] == "delivered"


def test_declined_and_cancelled_orders_never_ship(stack):
    product = stack.new_product(stock=5, price=900)
    token, _ = stack.new_customer()
    declined = place(stack, token, product["id"], "tok_decline")
    called_off = place(stack, token, product["id"])
    watch(stack, token, called_off, "confirmed")
    with stack.client(token) as c:  # long before the courier takes it (~2 s)
        assert c.post(f"/api/v1/orders/{called_off}/cancel").status_code == 202
    kept = place(stack, token, product["id"])
    watch(stack, token, kept, "delivered")  # the courier's time has passed

    for order_id in (declined, called_off):
        order, _ = watch(stack, token, order_id, "cancelled")
        statuses = [h["status"] for h in order["history"]]
        assert "shipped" not in statuses and "delivered" not in statuses, statuses
        steps = [p["step"] for p in order["progress"]]
        assert "shipped" not in steps and "delivered" not in steps, steps
        assert all(s["status"] == "cancelled" for s in shipments(stack, token, order_id))
        kinds = {m["kind"] for m in messages(stack, token, order_id)}
        assert not kinds & {"order_shipped", "order_delivered"}, kinds
    assert [s["status"] for s in shipments(stack, token, called_off)] == ["cancelled"]
    assert stack.stock(product["id"])["sold"] == 1


def test_after_delivered_and_cancelled_orders_verify_holds_the_lifecycle_invariant(stack):
    product = stack.new_product(stock=2, price=1100)
    token, _ = stack.new_customer()
    order_id = place(stack, token, product["id"])
    watch(stack, token, order_id, "delivered")

    result = verify(stack, "--wait-idle", "30")

    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("ok   7. ")]
    assert line.startswith("ok   7. delivered orders were confirmed and shipped: ")
    delivered = int(line.split(": ", 1)[1].split(" delivered")[0])
    assert delivered >= 1, line

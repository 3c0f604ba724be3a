"""Loyalty points by choreography (issue 16 part 1), through the gateway, in both saga
modes (and on the production stack): an order delivered by the fast courier
(MERCATO_COURIER_SPEEDUP) earns its points, seen in the profile (identity's projection) and
the ledger (loyalty); refunding it reverses them; the same OrderDelivered republished to
loyalty's consumer — as it was, and under another event id — credits once; `mercato
verify` holds, invariant 8 included."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from mercato.chassis.messaging.dlq import replay_subject
from mercato.platform.running import connect, login, running_state
from tests.system.platform import Platform, wait_for
from tests.system.test_order_lifecycle import FAST_COURIER, fast_courier, place, watch
from tests.system.test_verify import verify

# Both saga modes on the embedded stack; the production one (PostgreSQL, the NATS cluster)
# in orchestration.
RUNS = (("embedded", "orchestration"), ("embedded", "choreography"),
        ("production", "orchestration"))


pytestmark = pytest.mark.shared_platform(by="stack", keys=FAST_COURIER)


@pytest.fixture(scope="module", params=RUNS, ids=["-".join(r) for r in RUNS])
def stack(request, shared_platforms) -> Platform:
    """The fast-courier platform of the run, shared with test_order_lifecycle's (its
    tests use their own customers and products, and leave every order ended)."""
    kind, mode = request.param
    return fast_courier(shared_platforms, kind, mode)


def ledger(stack: Platform, token: str) -> dict:
    with stack.client(token) as c:
        r = c.get("/api/v1/identity/users/me/loyalty")
    assert r.status_code == 200, r.text
    return r.json()


def profile_points(stack: Platform, token: str) -> int:
    with stack.client(token) as c:
        r = c.get("/api/v1/identity/users/me")
    assert r.status_code == 200, r.text
    return r.json()["loyalty_points"]


def points_become(stack: Platform, token: str, points: int, entries: int) -> dict:
    """Wait until both the ledger and the profile show ``points`` (the profile is
    identity's copy: eventually consistent) and the ledger has ``entries``."""
    def settled() -> dict | None:
        found = ledger(stack, token)
        if (found["loyalty_points"], len(found["items"])) != (points, entries):
            return None
        return found if profile_points(stack, token) == points else None
    return wait_for(settled, 30, f"{points} points in {entries} entries")


def republish_delivery(stack: Platform, order_id: str) -> None:
    """The order's OrderDelivered, read back from orders' stream, published again to
    loyalty's consumer only (the replay subject `mercato dlq replay` uses): once as it
    was under a fresh message id (the inbox drops it), once under a new event id (the
    ledger's one credit per order drops it)."""
    async def run() -> None:
        nc = await connect(running_state(stack.data_dir)["nats_url"], login(stack.data_dir))
        try:
            js = nc.jetstream()
            info = await js.stream_info("MERCATO_ORDERS")
            data = None
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg("MERCATO_ORDERS", seq)
                envelope = json.loads(msg.data)
                if (envelope["type"], envelope["payload"]["order_id"]) == (
                        "OrderDelivered", order_id):
                    data = envelope
            assert data is not None, f"no OrderDelivered of {order_id} in the stream"
            target = replay_subject("orders", "loyalty__deliveries")
            await js.publish(target, json.dumps(data).encode(),
                             headers={"Nats-Msg-Id": f"test-replay-{uuid.uuid4()}"})
            renamed = dict(data, id=str(uuid.uuid4()))
            await js.publish(target, json.dumps(renamed).encode(),
                             headers={"Nats-Msg-Id": f"test-replay-{uuid.uuid4()}"})
        finally:
            await nc.close()
    asyncio.run(run())


def test_a_delivered_order_earns_points_once_and_its_refund_reverses_them(stack):
    product = stack.new_product(stock=3, price=1999)
    token, _ = stack.new_customer()
    assert profile_points(stack, token) == 0  # before any entry
    assert ledger(stack, token) == {"loyalty_points": 0, "items": [], "next_cursor": None}

    order_id = place(stack, token, product["id"])
    watch(stack, token, order_id, "delivered")
    earned = points_become(stack, token, 19, 1)  # USD 19.99: 19 points, rounded down
    [credit] = earned["items"]
    assert (credit["order_id"], credit["kind"], credit["points"]) == (order_id, "credit", 19)

    republish_delivery(stack, order_id)
    result = verify(stack, "--wait-idle", "60")  # every event consumed, the replays too
    assert result.returncode == 0, result.stdout + result.stderr
    assert ledger(stack, token)["items"] == earned["items"]  # still one credit
    assert profile_points(stack, token) == 19

    with stack.client(token) as c:
        asked = c.post(f"/api/v1/orders/{order_id}/refund")
    assert asked.status_code == 202, asked.text
    assert asked.json() == {"id": order_id, "status": "delivered", "refund": "requested"}
    order, _ = watch(stack, token, order_id, "refunded")
    assert [h["status"] for h in order["history"]][-2:] == ["delivered", "refunded"]
    reversed_ = points_become(stack, token, 0, 2)
    assert [(e["kind"], e["points"]) for e in reversed_["items"]] == [
        ("reversal", -19), ("credit", 19)]
    with stack.client(token) as c:
        payments = c.get("/api/v1/payments", params={"order_id": order_id}).json()["items"]
        again = c.post(f"/api/v1/orders/{order_id}/refund")
    assert [(p["status"], p["amount"]) for p in payments] == [("refunded", 1999)]
    assert again.status_code == 202 and again.json()["refund"] == "done"

    result = verify(stack, "--wait-idle", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   8. points credited once: " in result.stdout


def test_only_a_delivered_order_can_be_refunded_and_only_by_its_customer(stack):
    product = stack.new_product(stock=3, price=500)
    token, _ = stack.new_customer()
    other, _ = stack.new_customer()
    order_id = place(stack, token, product["id"])
    watch(stack, token, order_id, "confirmed")
    with stack.client(other) as c:
        assert c.post(f"/api/v1/orders/{order_id}/refund").status_code == 404
    with stack.client(token) as c:
        early = c.post(f"/api/v1/orders/{order_id}/refund")
    if early.status_code == 409:  # not delivered yet (the courier may be quick)
        assert early.json()["type"].endswith("/not-refundable")
    watch(stack, token, order_id, "delivered" if early.status_code == 409 else "refunded")

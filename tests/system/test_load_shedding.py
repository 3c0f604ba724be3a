"""Load shedding at the checkout, through the gateway (docs/checkout.md §7): with payments
frozen (SIGSTOP) the checkouts placed stay in progress; past MERCATO_CHECKOUT_MAX_IN_FLIGHT
of them a new order is refused at once (503 checkout-busy, Retry-After), nothing is
written, a replay of an accepted order is still answered, and once payments runs again
the accepted orders confirm and new ones are taken."""

from __future__ import annotations

import os
import signal

import pytest

from tests.system.platform import Platform, make_platform

LIMIT = 3


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    p = make_platform(tmp_path_factory.mktemp("shedding"),
                      MERCATO_CHECKOUT_MAX_IN_FLIGHT=str(LIMIT),
                      MERCATO_SAGA_STEP_DEADLINE="120", MERCATO_REGISTRY_TTL="60")
    p.start()
    yield p
    assert p.stop() == 0


def post(p: Platform, token: str, product_id: str, key: str):
    with p.client(token) as c:
        return c.post("/api/v1/orders", json=p.order_body(product_id),
                      headers={"Idempotency-Key": key})


def test_past_the_limit_new_orders_are_refused_at_once_until_checkouts_finish(
        platform: Platform):
    product = platform.new_product(stock=10)
    token, _ = platform.new_customer()
    pid = platform.pid_of("payments")
    os.kill(pid, signal.SIGSTOP)
    try:
        accepted = [post(platform, token, product["id"], f"k-{n}") for n in range(LIMIT)]
        assert [r.status_code for r in accepted] == [202] * LIMIT
        refused = post(platform, token, product["id"], "k-extra")
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["type"].endswith("/checkout-busy")
        assert f"{LIMIT} checkouts are in progress" in refused.json()["detail"]
        replay = post(platform, token, product["id"], "k-0")
        assert (replay.status_code, replay.json()["id"]) == (202, accepted[0].json()["id"])
        with platform.client(token) as c:
            listed = c.get("/api/v1/orders").json()["items"]
        assert len(listed) == LIMIT  # the refused order was never written
    finally:
        os.kill(pid, signal.SIGCONT)
    for r in accepted:
        assert platform.wait_terminal(token, r.json()["id"], timeout=90)["status"] == "confirmed"
    again = post(platform, token, product["id"], "k-extra")  # the client's retry
    assert again.status_code == 202, again.text
    assert platform.wait_terminal(token, again.json()["id"], timeout=60)["status"] == "confirmed"

"""`mercato up --fault-proxies` and `mercato faults` (docs/chaos.md): the links between
services break on purpose and the checkout keeps its promises. F5 in short: 300 ms each
way between orders and payments, and the order is still confirmed. F6 in short: payments
partitioned (a blackhole) past the step deadline — the orders placed meanwhile wait (the
saga cannot void what it cannot reach), and once it heals every order ends and every
invariant holds (nothing charged twice or left held: `mercato verify`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.system.platform import Platform, make_platform

STEP_DEADLINE = "3"  # seconds: the partition below outlasts it


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    p = make_platform(tmp_path_factory.mktemp("fault-proxies"),
                      MERCATO_SAGA_STEP_DEADLINE=STEP_DEADLINE)
    p.start(120.0, "--fault-proxies")
    yield p
    assert p.stop() == 0, p.output.read_text()


def faults(p: Platform, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mercato", "faults", *args], env=p.env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done


def place(p: Platform, token: str, product_id: str) -> str:
    with p.client(token) as c:
        r = c.post("/api/v1/orders", json=p.order_body(product_id))
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_every_service_is_reached_through_its_proxy(proxied):
    product = proxied.new_product(stock=5)
    token, _ = proxied.new_customer()
    with proxied.client(token) as c:
        assert c.put(f"/api/v1/cart/items/{product['id']}", json={"quantity": 1}).is_success
    assert proxied.wait_terminal(token, place(proxied, token, product["id"]))["status"] == \
        "confirmed"
    listed = {x["name"]: x for x in json.loads(faults(proxied, "list", "--json").stdout)}
    for service in ("catalog", "cart", "inventory", "orders", "payments", "shipping"):
        assert listed[f"to-{service}-1"]["counts"]["accepted"] > 0, service
        assert listed[f"nats-{service}"]["open"] >= 1, service


def test_latency_to_payments_slows_the_checkout_but_it_is_confirmed(proxied):
    product = proxied.new_product(stock=5)
    token, _ = proxied.new_customer()
    faults(proxied, "set", "to-payments-*", "latency_ms=300", "jitter_ms=50")
    try:
        order = proxied.wait_terminal(token, place(proxied, token, product["id"]), 60)
    finally:
        faults(proxied, "heal")
    assert order["status"] == "confirmed"


def test_a_partition_from_payments_holds_the_orders_and_heals_with_every_invariant(proxied):
    product = proxied.new_product(stock=10)
    token, _ = proxied.new_customer()
    faults(proxied, "set", "to-payments-*", "blackhole=true")
    try:
        placed = [place(proxied, token, product["id"]) for _ in range(3)]
        listed = json.loads(faults(proxied, "list", "--json").stdout)
        (front,) = [x for x in listed if x["name"] == "to-payments-1"]
        assert front["toxics"] == {"upstream": {"blackhole": True},
                                   "downstream": {"blackhole": True}}
        time.sleep(float(STEP_DEADLINE) + 2)  # past the step deadline, none has ended:
        with proxied.client(token) as c:  # a void it cannot send is not a cancellation
            assert [c.get(f"/api/v1/orders/{o}").json()["status"] for o in placed] == \
                ["pending"] * len(placed)
    finally:
        faults(proxied, "heal")
    ended = [proxied.wait_terminal(token, o, 90) for o in placed]
    assert {o["status"] for o in ended} <= {"confirmed", "cancelled"}
    done = subprocess.run([sys.executable, "-m", "mercato", "verify", "--wait-idle", "60"],
                          env=proxied.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

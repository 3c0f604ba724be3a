"""F9 and F11 in short, on one chaos platform (SQLite, each F9 victim's data dir a tmpfs
of its own; clock_skew_leeway 330 s).

F9: the orders database write-locked by another process past the busy timeout, then the
cart's disk full. Writes answer a 503 naming the cause with Retry-After (not a 500, not
a wait past the gateway's call timeout), reads go on, nothing is half-written, and the
same requests succeed after the heal; the fault's own check (the file whole and
writable) holds.

F11: identity's clock 5 minutes ahead (its tokens' iat in everyone's future), then
payments' 5 minutes behind (its service tokens' exp in the past): a customer signs up,
logs in, fills a cart and checks out, each order confirmed; after the heal no instance
runs on a skewed clock."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from mercato.chaos.faults import FAULTS, Target
from mercato.chaos.faults.clock import SkewClock
from mercato.chaos.faults.database import DatabaseRefuses
from mercato.chaos.platform import ChaosPlatform
from tests.system.platform import Platform, wait_for


@pytest.fixture(scope="module")
def chaos(tmp_path_factory):
    cp = ChaosPlatform(tmp_path_factory.mktemp("f9"), "orchestration", 3.0)
    try:
        asyncio.run(cp.start())
        p = Platform(cp.data_dir, cp.port, cp.env)
        yield p, Target(cp.data_dir, random.Random(1), 3.0, cp.url)
    finally:
        cp.stop()
    assert not any(path.is_mount() for path in cp.data_dir.iterdir())  # unmounted


def refused(r: httpx.Response, cause: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] and r.json()["cause"] == cause, r.json()


def succeeds(request, what: str) -> httpx.Response:
    """``request()`` until it is not a 503 (the gateway's breaker may answer for a moment
    after the heal), then it must have succeeded."""
    answer = wait_for(lambda: (r := request()).status_code != 503 and r, 20, what)
    assert answer.is_success, answer.text
    return answer


def test_the_faults_are_in_the_matrix():
    assert FAULTS["F9"] is DatabaseRefuses and FAULTS["F11"] is SkewClock


def test_a_stalled_orders_database_refuses_orders_by_name_then_takes_them(chaos):
    p, target = chaos
    product = p.new_product(stock=5)
    token, _ = p.new_customer()
    fault = DatabaseRefuses("orders", "stall")
    with p.client(token) as c:
        before = c.post("/api/v1/orders", json=p.order_body(product["id"])).json()["id"]
        p.wait_terminal(token, before)
        assert asyncio.run(fault.inject(target)) == "orders.db write-locked"
        try:
            refused(c.post("/api/v1/orders", json=p.order_body(product["id"])), "locked")
            assert c.get(f"/api/v1/orders/{before}").status_code == 200  # reads go on
        finally:
            asyncio.run(fault.heal(target))
        after = succeeds(lambda: c.post("/api/v1/orders", json=p.order_body(product["id"])),
                         "an order accepted after the heal").json()["id"]
    assert p.wait_terminal(token, after)["status"] == "confirmed"
    [check] = asyncio.run(fault.checks(target))
    assert check.ok and check.inv == "INV-F9", check


def test_a_full_disk_under_the_cart_refuses_writes_by_name_keeps_reads_and_recovers(chaos):
    p, target = chaos
    product = p.new_product(stock=5)
    token, _ = p.new_customer()
    fault = DatabaseRefuses("cart", "full")
    item = f"/api/v1/cart/items/{product['id']}"
    with p.client(token) as c:
        assert c.put(item, json={"quantity": 1}).is_success
        assert "ballast" in asyncio.run(fault.inject(target))
        try:
            refused(c.put(item, json={"quantity": 3}), "disk-full")
            cart = c.get("/api/v1/cart")
            assert cart.status_code == 200, cart.text  # reads go on
            assert [i["quantity"] for i in cart.json()["items"]] == [1]  # nothing half-kept
        finally:
            asyncio.run(fault.heal(target))
        succeeds(lambda: c.put(item, json={"quantity": 3}), "a cart write after the heal")
        assert [i["quantity"] for i in c.get("/api/v1/cart").json()["items"]] == [3]
    [check] = asyncio.run(fault.checks(target))
    assert check.ok, check


def answered(request) -> httpx.Response:
    """``request()`` until the service it reaches is back (a restarted instance takes a
    few seconds to register): any answer but 502/503/504."""
    return wait_for(lambda: (r := request()).status_code not in (502, 503, 504) and r, 60,
                    "the restarted service answering")


def ready_again(p: Platform, service: str, pids: list[int]) -> None:
    """Until each of ``pids`` (``service``'s restarted instances) is registered ready (by
    the gateway, whose clock is true)."""
    def ready() -> bool:
        with p.client(p.admin_token()) as c:
            items = c.get("/api/v1/ops/services").json()["items"]
        return {i["pid"] for i in items if i["service"] == service
                and i["health"] == "ready"} >= set(pids)
    wait_for(ready, 90, f"{service} ready again after the heal", every=0.5)


@pytest.mark.parametrize(("service", "seconds"), [("identity", 300), ("payments", -300)])
def test_a_service_five_minutes_off_refuses_no_valid_token_and_orders_end(chaos, service,
                                                                            seconds):
    p, target = chaos
    product = p.new_product(stock=5)
    fault = SkewClock(service, seconds)
    assert asyncio.run(fault.inject(target)).startswith(f"{service} clock {seconds:+d} s")
    try:
        ready_again(p, service, fault.pids)  # restarted: an order placed before would
        # find no payments for its step deadline (3 s) and be cancelled, as it should
        email = f"skew-{service}@example.com"
        with p.client() as c:
            r = answered(lambda: c.post("/api/v1/identity/users", json={
                "email": email, "password": "s3cret-pass", "name": "Skewed"}))
            assert r.status_code == 201, r.text
            r = answered(lambda: c.post("/api/v1/identity/token", json={
                "email": email, "password": "s3cret-pass"}))
            assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        with p.client(token) as c:
            item = f"/api/v1/cart/items/{product['id']}"
            assert c.put(item, json={"quantity": 1}).is_success  # checked with a true clock
            placed = answered(lambda: c.post("/api/v1/orders",
                                             json=p.order_body(product["id"])))
            assert placed.status_code == 202, placed.text
        assert p.wait_terminal(token, placed.json()["id"], 60)["status"] == "confirmed"
    finally:
        asyncio.run(fault.heal(target))
    ready_again(p, service, fault.pids)
    checks = asyncio.run(fault.checks(target))
    assert all(c.ok for c in checks), checks

"""Checkout fairness, through the gateway: with payments frozen (SIGSTOP) every checkout
stays in progress; one customer past MERCATO_CHECKOUT_MAX_IN_FLIGHT_PER_CUSTOMER of them
is refused at once (429 too-many-checkouts, Retry-After, nothing written) while another
customer's order is still taken, well under the platform's own limit; once payments runs
again they all confirm and the first customer's retry is taken."""

from __future__ import annotations

import os
import signal

import pytest

from tests.system.platform import Platform, running_platform
from tests.system.test_load_shedding import post

MINE = 2  # one customer's checkouts in progress


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    yield from running_platform(tmp_path_factory, "fairness",
                                MERCATO_CHECKOUT_MAX_IN_FLIGHT="20",
                                MERCATO_CHECKOUT_MAX_IN_FLIGHT_PER_CUSTOMER=str(MINE),
                                MERCATO_SAGA_STEP_DEADLINE="120", MERCATO_REGISTRY_TTL="60",
                                MERCATO_LIVENESS_FAILURES="30")


def test_one_customer_cannot_take_every_checkout_slot(platform: Platform):
    product = platform.new_product(stock=10)
    greedy, _ = platform.new_customer()
    other, _ = platform.new_customer()
    pid = platform.pid_of("payments")
    os.kill(pid, signal.SIGSTOP)
    try:
        held = [post(platform, greedy, product["id"], f"g-{n}") for n in range(MINE)]
        refused = post(platform, greedy, product["id"], "g-extra")
        theirs = post(platform, other, product["id"], "o-1")
        with platform.client(greedy) as c:
            listed = c.get("/api/v1/orders").json()["items"]
    finally:
        os.kill(pid, signal.SIGCONT)
    assert [r.status_code for r in held] == [202] * MINE
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["type"].endswith("/too-many-checkouts")
    assert theirs.status_code == 202, theirs.text
    assert len(listed) == MINE  # the refused order was never written
    for token, r in [(greedy, h) for h in held] + [(other, theirs)]:
        assert platform.wait_terminal(token, r.json()["id"], timeout=90)["status"] == "confirmed"
    again = post(platform, greedy, product["id"], "g-extra")  # the client's retry
    assert again.status_code == 202, again.text

"""The gateway's bulkhead on a whole platform: shipping frozen (SIGSTOP), its calls hang
until the call timeout and fill shipping's bulkhead (MERCATO_BULKHEAD_LIMIT=4 here); the
extra shipping requests are refused at once with a 503 problem saying the bulkhead is full
and Retry-After, while catalog reads through the same gateway all succeed."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.system.platform import Platform, make_platform, wait_for

LIMIT, EXTRA = 4, 8


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    # A frozen shipping keeps its registry entry (TTL 60 s); a call to it hangs for the
    # whole call timeout (20 s: the holders outlast the rest of the test); the breaker's
    # threshold is out of reach, so what refuses calls here is the bulkhead alone.
    p = make_platform(tmp_path_factory.mktemp("bulkhead"), MERCATO_REGISTRY_TTL="60",
                      MERCATO_BULKHEAD_LIMIT=str(LIMIT), MERCATO_CALL_TIMEOUT="20",
                      MERCATO_BREAKER_FAILURES="1000")
    p.start()
    yield p
    assert p.stop() == 0


def shipping_bulkhead(p: Platform) -> dict:
    guard = p.proxy_guard("shipping")
    return guard["bulkhead"] if guard else {}


def test_a_frozen_service_fills_its_bulkhead_and_no_other(platform: Platform):
    product = platform.new_product(stock=0)
    token, _ = platform.new_customer()
    listing = "/api/v1/shipping/shipments?order_id=no-such-order"
    item = f"/api/v1/catalog/products/{product['id']}"

    def get(path: str):
        with platform.client(token) as c:
            return c.get(path)

    assert get(listing).status_code == 200
    pid = platform.pid_of("shipping")
    os.kill(pid, signal.SIGSTOP)
    pool = ThreadPoolExecutor(LIMIT + EXTRA)
    try:
        holders = [pool.submit(get, listing) for _ in range(LIMIT)]
        full = wait_for(lambda: (b := shipping_bulkhead(platform))["in_flight"] == LIMIT and b,
                        30, f"{LIMIT} shipping calls in flight")
        assert full["rejected"] == 0
        extras = list(pool.map(get, [listing] * EXTRA))
        reads = [get(item) for _ in range(20)]
        assert not any(h.done() for h in holders)  # still hanging on the frozen service
    finally:
        os.kill(pid, signal.SIGCONT)
        pool.shutdown(wait=True)

    assert [r.status_code for r in extras] == [503] * EXTRA
    for r in extras:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        assert f"its bulkhead is full ({LIMIT} calls in flight)" in r.json()["detail"]
    assert [r.status_code for r in reads] == [200] * 20
    assert all(r.json()["id"] == product["id"] for r in reads)
    # the calls that held the slots are answered once shipping runs again
    assert [h.result().status_code for h in holders] == [200] * LIMIT
    after = shipping_bulkhead(platform)
    assert (after["in_flight"], after["peak"], after["rejected"]) == (0, LIMIT, EXTRA)
    assert get(listing).status_code == 200

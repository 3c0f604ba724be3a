"""`mercato up --replicas catalog=3,orders=2,inventory=2`: every instance is registered
and listed, a checkout works across two orders instances, one of three catalog instances
killed under load costs no request (retries land on the others) and leaves the registry,
and one of two inventory instances killed under checkouts costs no checkout (the saga's
gRPC calls move to the other; MERCATO_INTERNAL_TRANSPORT=grpc here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mercato.platform.catalog import SERVICES
from tests.system.platform import Platform, make_platform, steady_reads

REPLICAS = "catalog=3,orders=2,inventory=2"
TTL = 10.0  # MERCATO_REGISTRY_TTL's default: how long a dead instance may stay listed
LOAD_CLIENTS = 4
LOAD_SECONDS = 10.0


@pytest.fixture(scope="module")
def replicated(tmp_path_factory) -> Platform:
    # no units limit: one customer buys one product over and over under load; the
    # saga's calls over gRPC (the balancing and fail-over of chassis/rpc under a kill)
    p = make_platform(tmp_path_factory.mktemp("replicas"),
                      MERCATO_MAX_UNITS_PER_CUSTOMER_PER_PRODUCT_PER_DAY="0",
                      MERCATO_INTERNAL_TRANSPORT="grpc")
    p.start(180.0, "--replicas", REPLICAS)
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


def listed(p: Platform, service: str | None = None) -> list[dict]:
    with p.client(p.admin_token()) as c:
        r = c.get("/api/v1/ops/services")
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if service in (None, i["service"])]


def test_every_instance_is_listed_by_the_gateway_and_by_mercato_status(replicated):
    everyone = listed(replicated)
    counts = {}
    for i in everyone:
        counts[i["service"]] = counts.get(i["service"], 0) + 1
    # one instance of every service (and the mobile BFF), but those REPLICAS names
    assert counts == {**dict.fromkeys(SERVICES, 1), "catalog": 3, "inventory": 2,
                      "orders": 2, "gateway": 1}
    catalog = listed(replicated, "catalog")
    assert sorted(i["instance_id"].rsplit("-", 1)[0] for i in catalog) == \
        ["catalog-1", "catalog-2", "catalog-3"]
    assert len({i["pid"] for i in catalog}) == 3 and len({i["address"] for i in catalog}) == 3
    assert all(i["health"] == "ready" and i["version"] and i["last_heartbeat"]
               for i in everyone)
    status = subprocess.run([sys.executable, "-m", "mercato", "status"], text=True,
                            capture_output=True, timeout=60,
                            env=dict(replicated.env, COLUMNS="200"))
    assert status.returncode == 0, status.stdout + status.stderr
    for i in everyone:
        row = next(line for line in status.stdout.splitlines() if i["instance_id"] in line)
        assert str(i["pid"]) in row and i["address"] in row and "ready" in row
        assert "s ago" in row
    assert "short of instances" not in status.stdout


def test_checkouts_spread_over_two_orders_instances_all_confirm(replicated):
    product = replicated.new_product(stock=20, price=700)
    token, _ = replicated.new_customer()

    def place(_: int) -> str:
        with replicated.client(token) as c:
            r = c.post("/api/v1/orders", json=replicated.order_body(product["id"], 1))
        assert r.status_code == 202, r.text
        return r.json()["id"]

    with ThreadPoolExecutor(4) as pool:
        order_ids = list(pool.map(place, range(8)))
    outcomes = [replicated.wait_terminal(token, oid)["status"] for oid in order_ids]
    assert outcomes == ["confirmed"] * 8
    stock = replicated.stock(product["id"])
    assert (stock["available"], stock["reserved"], stock["sold"]) == (12, 0, 8)
    verify = subprocess.run([sys.executable, "-m", "mercato", "verify", "--wait-idle", "30"],
                            env=replicated.env, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_one_of_three_catalog_instances_killed_under_load_fails_no_request_and_leaves_the_registry(
        replicated):
    product = replicated.new_product(stock=0)
    before = {i["instance_id"]: i for i in listed(replicated, "catalog")}
    victim = next(i for i in before.values() if i["instance_id"].startswith("catalog-2-"))
    others = {i["pid"] for i in before.values()} - {victim["pid"]}
    stop = threading.Event()
    with ThreadPoolExecutor(LOAD_CLIENTS) as pool:
        loads = [pool.submit(steady_reads, replicated, f"/api/v1/catalog/products/{product['id']}",
                             stop) for _ in range(LOAD_CLIENTS)]
        time.sleep(LOAD_SECONDS / 3)
        os.kill(victim["pid"], signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(LOAD_SECONDS * 2 / 3)
        stop.set()
        results = [f.result() for f in loads]
    requests = sum(n for n, _ in results)
    failures = [f for _, fs in results for f in fs]
    print(f"\nreplicas: {requests} GETs from {LOAD_CLIENTS} clients over {LOAD_SECONDS:.0f}s, "
          f"{len(failures)} failed")
    assert failures == []
    assert requests > LOAD_CLIENTS  # the load really ran

    # The supervisor restarts catalog-2 alone, as a new instance; the dead one's entry
    # leaves the registry once its heartbeats are a TTL old.
    gone_after, fresh, now_listed = None, [], before
    deadline = killed_at + 90
    while time.monotonic() < deadline and (gone_after is None or not fresh):
        now_listed = {i["instance_id"]: i for i in listed(replicated, "catalog")}
        if gone_after is None and victim["instance_id"] not in now_listed:
            gone_after = time.monotonic() - killed_at
        fresh = [i for i in now_listed.values()
                 if i["instance_id"] not in before and i["health"] == "ready"]
        time.sleep(0.2)
    assert gone_after is not None, f"{victim['instance_id']} is still listed"
    print(f"replicas: the killed instance left the registry {gone_after:.1f}s after the kill")
    assert gone_after < TTL + 5.0  # its last heartbeat was before the kill; + polling
    assert [i["instance_id"].rsplit("-", 1)[0] for i in fresh] == ["catalog-2"]
    assert fresh[0]["pid"] != victim["pid"]
    assert {i["pid"] for i in now_listed.values()} - {fresh[0]["pid"]} == others
    output = replicated.output.read_text()
    assert "catalog-2 exited" in output
    assert "catalog-1 exited" not in output and "catalog-3 exited" not in output


def test_one_of_two_inventory_instances_killed_under_checkouts_fails_no_checkout(
        replicated):
    product = replicated.new_product(stock=1000, price=300)
    token, _ = replicated.new_customer()
    victim = next(i for i in listed(replicated, "inventory")
                  if i["instance_id"].startswith("inventory-2-"))
    assert victim["grpc"], victim  # the saga reaches it over gRPC (this module's platform)
    stop, placed, refused = threading.Event(), [], []

    def buyer() -> None:
        with replicated.client(token) as c:
            while not stop.is_set():
                r = c.post("/api/v1/orders", json=replicated.order_body(product["id"], 1))
                if r.status_code == 202:
                    placed.append(r.json()["id"])
                elif r.status_code in (429, 503):  # shed: in-flight limits, never a failure
                    time.sleep(float(r.headers.get("retry-after", "1")))
                else:
                    refused.append((r.status_code, r.text))

    with ThreadPoolExecutor(LOAD_CLIENTS) as pool:
        buyers = [pool.submit(buyer) for _ in range(LOAD_CLIENTS)]
        time.sleep(LOAD_SECONDS / 3)
        os.kill(victim["pid"], signal.SIGKILL)
        time.sleep(LOAD_SECONDS * 2 / 3)
        stop.set()
        for b in buyers:
            b.result()
    assert refused == []
    outcomes = {}
    for oid in placed:
        status = replicated.wait_terminal(token, oid, timeout=120)["status"]
        outcomes[status] = outcomes.get(status, 0) + 1
    print(f"\nreplicas: {len(placed)} checkouts while inventory-2 was killed: {outcomes}")
    assert len(placed) > LOAD_CLIENTS and outcomes == {"confirmed": len(placed)}
    stock = replicated.stock(product["id"])
    assert (stock["reserved"], stock["sold"]) == (0, len(placed))
    verify = subprocess.run([sys.executable, "-m", "mercato", "verify", "--wait-idle", "60"],
                            env=replicated.env, capture_output=True, text=True, timeout=180)
    assert verify.returncode == 0, verify.stdout + verify.stderr

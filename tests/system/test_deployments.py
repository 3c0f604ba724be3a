"""Zero-downtime deployments on `mercato up --replicas catalog=2` (docs/deployments.md):
steady load through the gateway fails no request during a rolling deploy, a blue-green
deploy with its switch and its rollback; a canary at 10 % answers about 10 % of requests
(`X-Mercato-Version`), always answers `X-Canary: always`, and a rollback gives every request
to the old version again; a promoted canary is the only version left."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.system.platform import Platform, make_platform, steady_reads

READERS, WRITERS = 3, 1
SAMPLE = 2000


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    p = make_platform(tmp_path_factory.mktemp("deployments"))
    p.start(180.0, "--replicas", "catalog=2", "--no-seed")
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


@pytest.fixture(scope="module")
def product(platform) -> dict:
    return platform.new_product(stock=0)


def mercato(p: Platform, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mercato", *args], env=p.env, text=True,
                          capture_output=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def write(p: Platform, stop: threading.Event, fails: list[str]) -> int:
    """Admin POSTs creating products, each with its own Idempotency-Key (so the gateway
    may repeat one)."""
    done = 0
    with p.client(p.admin_token()) as c:
        while not stop.is_set():
            sku = f"DEP-{uuid.uuid4().hex[:12]}"
            try:
                r = c.post("/api/v1/catalog/products", headers={"Idempotency-Key": sku},
                           json={"sku": sku, "name": sku, "description": "deploy load",
                                 "category": "tests", "price": 100, "currency": "USD"})
                if r.status_code != 201:
                    fails.append(f"POST {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                fails.append(f"POST {type(exc).__name__}: {exc}")
            done += 1
            time.sleep(0.02)
    return done


def under_load(p: Platform, product: dict, *commands: list[str]) -> tuple[int, list[str]]:
    """Run the commands one after the other while readers and writers load the gateway:
    (requests made, failures)."""
    stop, fails = threading.Event(), []
    path = f"/api/v1/catalog/products/{product['id']}"
    with ThreadPoolExecutor(READERS + WRITERS) as pool:
        reads = [pool.submit(steady_reads, p, path, stop) for _ in range(READERS)]
        writes = [pool.submit(write, p, stop, fails) for _ in range(WRITERS)]
        try:
            time.sleep(1.0)
            for args in commands:
                print(mercato(p, *args))
            time.sleep(1.0)
        finally:
            stop.set()
        requests = sum(f.result() for f in writes)
        for done, failures in (f.result() for f in reads):
            requests += done
            fails += failures
    return requests, fails


def versions(p: Platform, product: dict, n: int, headers: dict | None = None) -> Counter:
    path = f"/api/v1/catalog/products/{product['id']}"

    def one(_: int) -> str:
        with_client = clients.get(threading.get_ident())
        if with_client is None:
            with_client = clients[threading.get_ident()] = httpx.Client(
                base_url=p.url, timeout=30)
        r = with_client.get(path, headers=headers)
        assert r.status_code == 200, r.text
        return r.headers["x-mercato-version"]

    clients: dict[int, httpx.Client] = {}
    try:
        with ThreadPoolExecutor(4) as pool:
            return Counter(pool.map(one, range(n)))
    finally:
        for c in clients.values():
            c.close()


def catalog_versions(p: Platform) -> list[str]:
    with p.client(p.admin_token()) as c:
        r = c.get("/api/v1/ops/services")
    assert r.status_code == 200, r.text
    return sorted(i["version"] for i in r.json()["items"] if i["service"] == "catalog")


def test_a_rolling_deploy_under_load_fails_no_request(platform, product):
    requests, fails = under_load(platform, product, ["deploy", "catalog", "--version", "2"])
    print(f"rolling 1 -> 2: {requests} requests, {len(fails)} failed")
    assert fails == []
    assert requests > 100
    assert catalog_versions(platform) == ["2", "2"]
    assert versions(platform, product, 50) == {"2": 50}


def test_a_blue_green_deploy_switch_and_rollback_under_load_fail_no_request(platform, product):
    requests, fails = under_load(platform, product, ["deploy", "catalog", "--version", "3",
                                                     "--strategy", "blue-green"])
    print(f"blue-green 2 -> 3 (switch): {requests} requests, {len(fails)} failed")
    assert fails == []
    assert catalog_versions(platform) == ["2", "2", "3", "3"]  # the old set idles
    assert versions(platform, product, 100) == {"3": 100}
    requests, fails = under_load(platform, product, ["rollback", "catalog"])
    print(f"blue-green rollback 3 -> 2: {requests} requests, {len(fails)} failed")
    assert fails == []
    assert versions(platform, product, 100) == {"2": 100}
    assert catalog_versions(platform) == ["2", "2"]


def test_a_canary_takes_its_weight_and_every_forced_request_until_rolled_back(
        platform, product):
    mercato(platform, "deploy", "catalog", "--version", "4", "--strategy", "canary",
            "--weight", "10")
    seen = versions(platform, product, SAMPLE)
    share = seen["4"] / SAMPLE
    print(f"canary at 10%: {seen['4']} of {SAMPLE} answered by the canary ({share:.1%}), "
          f"versions {dict(seen)}")
    assert set(seen) == {"2", "4"}
    assert 0.07 <= share <= 0.13
    forced = versions(platform, product, 200, {"X-Canary": "always"})
    print(f"X-Canary: always -> {dict(forced)}")
    assert forced == {"4": 200}
    assert versions(platform, product, 200, {"X-Canary": "never"}) == {"2": 200}
    mercato(platform, "rollback", "catalog")
    after = versions(platform, product, 300)
    print(f"after the rollback: {dict(after)}")
    assert after == {"2": 300}
    assert catalog_versions(platform) == ["2", "2"]


def test_a_promoted_canary_under_load_leaves_only_the_new_version(platform, product):
    mercato(platform, "deploy", "catalog", "--version", "5", "--strategy", "canary",
            "--weight", "50")
    requests, fails = under_load(platform, product, ["promote", "catalog"])
    print(f"canary promote 2 -> 5: {requests} requests, {len(fails)} failed")
    assert fails == []
    assert catalog_versions(platform) == ["5", "5"]
    assert versions(platform, product, 100) == {"5": 100}


def test_a_second_deployment_of_the_same_service_is_refused_while_one_is_in_progress(
        platform):
    mercato(platform, "deploy", "catalog", "--version", "6", "--strategy", "blue-green")
    again = subprocess.run([sys.executable, "-m", "mercato", "deploy", "catalog", "--version",
                            "7"], env=platform.env, text=True, capture_output=True, timeout=60)
    assert again.returncode == 1
    assert "in progress" in again.stdout
    mercato(platform, "promote", "catalog")
    assert catalog_versions(platform) == ["6", "6"]
    # Each command is in the audit trail, the refused one with its exit code and reason.
    with platform.client(platform.admin_token()) as c:
        r = c.get("/api/v1/ops/audit", params={"limit": 3})
    assert r.status_code == 200, r.text
    trail = [(e["method"], e["path"], e["status"]) for e in r.json()["items"]]
    assert trail == [("CLI", "mercato promote catalog", 0),
                     ("CLI", "mercato deploy catalog", 1),
                     ("CLI", "mercato deploy catalog", 0)], trail
    assert "in progress" in r.json()["items"][1]["detail"]

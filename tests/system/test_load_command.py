"""`mercato load` on a real platform: shoppers through the gateway place orders that end,
the figures come back as one JSON object, and the platform's invariants hold afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.system.platform import Platform, running_platform, wait_for


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    yield from running_platform(tmp_path_factory, "load")


def mercato(p: Platform, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mercato", *args], env=p.env,
                          capture_output=True, text=True, timeout=timeout)


def seeded(p: Platform) -> bool:
    """`mercato up` says it is ready before it seeds the demo catalog."""
    r = httpx.get(f"{p.url}/api/v1/catalog/products", params={"limit": "100"})
    return r.status_code == 200 and len(r.json()["items"]) >= 8


def test_shoppers_place_orders_that_end_and_the_invariants_hold(platform: Platform):
    wait_for(lambda: seeded(platform), 30, "the demo catalog")
    run = mercato(platform, "load", "--rate", "5", "--duration", "8", "--seed", "1", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)  # one JSON object and nothing else on stdout
    orders, sessions = report["orders"], report["sessions"]
    assert sessions["started"] > 10 and sessions["completed"] > 0
    assert sessions["dropped"] == 0 and sessions["unfinished"] == 0
    assert orders["placed"] > 10 and orders["confirmed"] > 0
    ended = orders["confirmed"] + orders["cancelled_total"] + orders["pending"]
    assert ended == orders["placed"]
    assert orders["pending"] == 0, report
    assert orders["cancelled"].get("customer_request", 0) + orders["cancel_refused"] > 0
    assert isinstance(report["errors"], dict) and "error_count" in report
    assert report["error_count"] == sum(report["errors"].values())
    assert "rate-limited" not in report["errors"], report["errors"]
    assert report["requests"] > orders["placed"] * 5 and report["requests_per_s"] > 0
    place = report["latency_ms"]["POST /api/v1/orders"]
    assert place["count"] == orders["placed"] and 0 < place["p50"] <= place["p99"]
    assert report["latency_ms"]["placed to confirmed"]["count"] == orders["confirmed"]
    assert report["config"] == {"url": platform.url, "mode": "open", "rate": 5.0,
                                "users": None, "duration": 8.0, "seed": 1,
                                "cancel_share": 0.1, "customers": 20}

    verify = mercato(platform, "verify", "--wait-idle", "60", timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def platform_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}


def test_without_a_platform_it_exits_2_and_says_so(tmp_path):
    p = Platform(tmp_path / "none", 0, {**platform_env(), "MERCATO_DATA_DIR": str(tmp_path)})
    run = mercato(p, "load", "--duration", "1")
    assert run.returncode == 2
    assert "not running" in run.stderr and run.stdout == ""


def test_bad_options_exit_2(tmp_path):
    p = Platform(tmp_path, 0, {**platform_env(), "MERCATO_DATA_DIR": str(tmp_path)})
    assert mercato(p, "load", "--rate", "2", "--users", "3").returncode == 2
    assert mercato(p, "load", "--cancel-share", "2").returncode == 2
    assert mercato(p, "load", "--decline-share", "0.8", "--error-share", "0.5").returncode == 2

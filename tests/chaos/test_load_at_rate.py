"""Issue 15's "Done when" for `mercato load`, at its size: 50 shopping sessions a second
for 30 s against a platform started as `make up` starts it (the demo catalog). The run
ends with its figures as one JSON object (the live view is the same figures drawn by
rich); every order it placed ends, and the invariants hold afterwards. On 2 cores the
platform is overloaded at this rate: what is asserted is what must hold anyway — every
session accounted for, nothing lost — not how fast it went."""

from __future__ import annotations

import json

import pytest

from tests.system.platform import Platform, running_platform, wait_for
from tests.system.test_load_command import mercato, seeded


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    yield from running_platform(tmp_path_factory, "load-at-rate")


@pytest.mark.timeout(600)
def test_fifty_sessions_a_second_for_thirty_seconds_lose_nothing(platform: Platform):
    wait_for(lambda: seeded(platform), 30, "the demo catalog")
    run = mercato(platform, "load", "--rate", "50", "--duration", "30", "--seed", "1",
                  "--json", timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["config"]["rate"] == 50.0 and report["config"]["duration"] == 30.0
    sessions, orders = report["sessions"], report["orders"]
    assert sessions["started"] + sessions["dropped"] > 1000  # ~1500 arrivals drawn
    assert sessions["started"] == (sessions["completed"] + sessions["failed"]
                                   + sessions["unfinished"])
    assert orders["placed"] > 0 and orders["confirmed"] > 0
    assert orders["confirmed"] + orders["cancelled_total"] + orders["pending"] == \
        orders["placed"]
    assert report["error_count"] == sum(report["errors"].values())
    verify = mercato(platform, "verify", "--wait-idle", "120", timeout=180)
    assert verify.returncode == 0, verify.stdout + verify.stderr

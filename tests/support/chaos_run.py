"""``mercato chaos`` as a user runs it, for the tests that check its report: a child
process with the settings of any platform the test session runs left out (it starts its
own), its JSON report parsed, and the report's promises asserted in one place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Settings that would point the command at a platform already running (it starts its own).
NOT_INHERITED = ("MERCATO_DATA_DIR", "MERCATO_GATEWAY_PORT", "MERCATO_NATS_URL",
                 "MERCATO_NATS_PORT", "MERCATO_SERVICE_KEY_FILE", "MERCATO_SERVICE_JWKS_FILE",
                 "MERCATO_NATS_CLUSTER")


def run_chaos(cwd: Path, *args: str, timeout: float) -> dict:
    """Run ``mercato chaos <args> --json``; its report (asserting it exited 0)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    run = subprocess.run([sys.executable, "-m", "mercato", "chaos", *args, "--json"],
                         env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return json.loads(run.stdout)


def assert_all_held(report: dict, faults: set[str]) -> None:
    """Each mode injected every one of ``faults`` (and healed it), every invariant held
    with 0 violations, orders were confirmed, and no duplicate had an effect."""
    assert report["ok"]
    for mode in report["modes"]:
        injected = {f["id"] for f in mode["faults"] if f.get("target")}
        assert injected >= faults, (mode["mode"], mode["faults"])
        assert not [f for f in mode["faults"] if f.get("error")], mode["faults"]
        assert mode["orders"]["confirmed"] > 0
        assert all(i["ok"] and i["violations"] == 0 for i in mode["invariants"]), \
            mode["invariants"]
        assert {i["inv"] for i in mode["invariants"]} >= {
            "INV-stock", "INV-money", "INV-once", "INV-events"}
        assert mode["duplicates"]["effects"] == 0
        assert mode["convergence_s"] is not None

"""`mercato chaos` end to end, short: one orchestration run of 20 s with a service
SIGKILLed (F1), latency and resets to a participant (F5) and payments partitioned past
the step deadline (F6). It starts a platform of its own; every invariant must hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Settings that would point the command at a platform already running (it starts its own).
NOT_INHERITED = ("MERCATO_DATA_DIR", "MERCATO_GATEWAY_PORT", "MERCATO_NATS_URL",
                 "MERCATO_NATS_PORT", "MERCATO_SERVICE_KEY_FILE", "MERCATO_SERVICE_JWKS_FILE")


@pytest.mark.timeout(240)
def test_a_short_chaos_run_injects_each_fault_and_every_invariant_holds(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    run = subprocess.run(
        [sys.executable, "-m", "mercato", "chaos", "--mode", "orchestration", "--duration",
         "20", "--faults", "F1,F5,F6", "--seed", "1", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=220)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout)
    (mode,) = report["modes"]
    assert mode["mode"] == "orchestration" and report["ok"]
    injected = {f["id"] for f in mode["faults"] if f.get("target")}
    assert injected == {"F1", "F5", "F6"}, mode["faults"]
    assert mode["orders"]["confirmed"] > 0
    assert len(mode["invariants"]) == 7
    assert all(i["violations"] == 0 and i["ok"] for i in mode["invariants"]), \
        mode["invariants"]
    assert {i["inv"] for i in mode["invariants"]} >= {"INV-stock", "INV-money", "INV-once",
                                                       "INV-events"}
    assert mode["convergence_s"] is not None

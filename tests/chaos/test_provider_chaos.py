"""F8 longer, for ``make chaos``: `mercato chaos --faults F8 --mode both` for 30 s of load
per mode, the card provider answering past the timeout in several windows. Every
invariant of `mercato verify` and F8's own (the provider's ledger agrees with payments
and orders) must hold, and the late successes must really have happened: some doubts
settled by voiding an authorization the provider made after payments gave up."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NOT_INHERITED = ("MERCATO_DATA_DIR", "MERCATO_GATEWAY_PORT", "MERCATO_NATS_URL",
                 "MERCATO_NATS_PORT", "MERCATO_SERVICE_KEY_FILE", "MERCATO_SERVICE_JWKS_FILE")


def late_successes_voided(kept: Path) -> int:
    """How many late authorizations payments' reconcilers voided (their logs, in the
    mode's work dir ``kept``)."""
    return sum(line.count("voided-late-authorization")
               for log in kept.glob("data/logs/payments-*.log")
               for line in log.read_text(errors="replace").splitlines()
               if "provider_doubt_settled" in line)


@pytest.mark.timeout(900)
def test_a_lying_provider_in_both_modes_under_load(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    run = subprocess.run(
        [sys.executable, "-m", "mercato", "chaos", "--mode", "both", "--duration", "30",
         "--faults", "F8", "--seed", "2", "--keep", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=850)
    # each mode's work dir, kept (--keep) for its logs; short paths (a control socket's
    # path is bounded), so under the system's temp dir and removed here
    kept = [Path(d) for d in re.findall(r"kept in\s+(/\S+)", run.stderr)]
    try:
        voided = sum(late_successes_voided(d) for d in kept)
    finally:
        for d in kept:
            if d.name.startswith("mercato-chaos-"):
                shutil.rmtree(d, ignore_errors=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["ok"] and len(report["modes"]) == 2
    for mode in report["modes"]:
        assert {f["id"] for f in mode["faults"] if f.get("target")} == {"F8"}
        own = [i for i in mode["invariants"] if i["verify"].startswith("F8")]
        assert len(own) == 3 and all(i["ok"] and i["violations"] == 0 for i in own), own
    assert len(kept) == 2
    assert voided > 0  # the provider did lie, and it was caught

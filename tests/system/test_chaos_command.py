"""`mercato chaos` end to end, short: one orchestration run in which every fault of the
matrix is injected once against the real processes of a platform of its own (the
schedule shortens the windows to fit), and every invariant must hold afterwards. The
long runs, both modes and several seeds, are tests/chaos/test_chaos_matrix.py."""

from __future__ import annotations

import pytest

from mercato.chaos.faults import FAULTS
from mercato.cli.invariants import CHECKS
from tests.support.chaos_run import assert_all_held, run_chaos


@pytest.mark.timeout(420)
def test_a_short_chaos_run_injects_every_fault_and_every_invariant_holds(tmp_path):
    report = run_chaos(tmp_path, "--mode", "orchestration", "--duration", "80", "--seed",
                       "1", timeout=400)
    assert report["not_scheduled"] == []
    (mode,) = report["modes"]
    assert mode["mode"] == "orchestration"
    assert_all_held(report, set(FAULTS))
    assert len([i for i in mode["invariants"] if i["verify"][0].isdigit()]) == len(CHECKS)

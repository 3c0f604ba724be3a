"""Issue 15's "Done when", at length: `mercato chaos --duration 120 --mode both` with the
whole fault matrix, for seed 1 and five others; every invariant at 0 violations and at
least ten fault kinds injected in each mode. About five minutes per seed."""

from __future__ import annotations

import pytest

from mercato.chaos.faults import FAULTS
from tests.support.chaos_run import assert_all_held, run_chaos


@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_two_minutes_of_every_fault_in_both_modes_loses_nothing(tmp_path, seed):
    report = run_chaos(tmp_path, "--mode", "both", "--duration", "120", "--seed",
                       str(seed), timeout=880)
    assert [m["mode"] for m in report["modes"]] == ["orchestration", "choreography"]
    assert_all_held(report, set(FAULTS))
    assert len(FAULTS) >= 10

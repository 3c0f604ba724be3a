"""The chaos schedule: drawn from the seed alone, windows that never overlap and stay
inside the run, every requested fault at least once when it fits, unknown ids refused."""

from __future__ import annotations

import itertools

import pytest

from mercato.chaos.faults import lengths
from mercato.chaos.schedule import (
    GAP,
    LEAD,
    TAIL,
    UnknownFault,
    draw_schedule,
    left_out,
    parse_faults,
)

LENGTHS = lengths(3.0)


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    one = draw_schedule(["F1", "F5", "F6"], LENGTHS, 120, seed=1)
    assert one == draw_schedule(["F1", "F5", "F6"], LENGTHS, 120, seed=1)
    assert one != draw_schedule(["F1", "F5", "F6"], LENGTHS, 120, seed=2)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("duration", [20, 30, 60, 600])
def test_windows_do_not_overlap_and_stay_inside_the_run(seed, duration):
    windows = draw_schedule(["F1", "F2", "F5", "F6"], LENGTHS, duration, seed)
    assert windows
    assert windows[0].start >= LEAD - 0.05
    assert windows[-1].end <= duration - TAIL + 0.1
    for w in windows:
        lo, hi = LENGTHS[w.fault]
        assert lo - 0.1 <= w.end - w.start <= hi + 0.1
    for a, b in itertools.pairwise(windows):
        assert b.start >= a.end + GAP - 0.1


@pytest.mark.parametrize("seed", range(20))
def test_each_requested_fault_appears_when_the_duration_allows(seed):
    windows = draw_schedule(["F1", "F5", "F6"], LENGTHS, 20, seed)
    assert {w.fault for w in windows} == {"F1", "F5", "F6"}
    assert left_out(["F1", "F5", "F6"], windows) == []


def test_a_long_run_repeats_faults_and_a_short_one_says_what_it_left_out():
    long = draw_schedule(["F1", "F6"], LENGTHS, 600, seed=3)
    assert len(long) > 20
    short = draw_schedule(["F1", "F5", "F6"], LENGTHS, 10, seed=3)
    assert left_out(["F1", "F5", "F6"], short)  # 5 s of room: not all three fit
    assert all(w.fault in ("F1", "F5", "F6") for w in short)


def test_fault_ids_are_parsed_in_order_without_duplicates():
    assert parse_faults("F1, f6,F1,F5", LENGTHS) == ["F1", "F6", "F5"]


@pytest.mark.parametrize(("text", "said"), [
    ("F1,F3", "not built yet: F3"),
    ("F13", "not in the fault matrix: F13"),
    ("F1,nope,F10", "not in the fault matrix: NOPE; not built yet: F10"),
    ("", "no fault given"),
])
def test_unknown_or_unbuilt_ids_are_refused_naming_the_available_ones(text, said):
    built = {f: (1.0, 2.0) for f in ("F1", "F2", "F5", "F6")}  # whatever is built today
    with pytest.raises(UnknownFault) as refused:
        parse_faults(text, built)
    assert said in str(refused.value)
    assert "F1, F2, F5, F6" in str(refused.value)

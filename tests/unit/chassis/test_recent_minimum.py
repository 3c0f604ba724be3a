"""``RecentMinimum``: a clock offset estimated as the least sample of the last one to two
windows. A quick sample keeps it low through a backlog; a clock that stepped is followed
within two windows (the lifetime minimum never was); a window's first sample in a
backlog is not the estimate alone while the previous window's quicker ones count."""

from __future__ import annotations

from mercato.chassis.clock import RecentMinimum
from mercato.chassis.context import CallerClocks


def test_the_least_of_the_window_holds_through_a_backlog():
    m = RecentMinimum(60.0)
    assert m.value == float("inf")
    assert m.add(0.010, 0.0) == 0.010
    assert m.add(3.0, 10.0) == 0.010  # a request that waited 3 s in a queue
    assert m.add(0.005, 20.0) == 0.005


def test_a_new_window_keeps_the_last_one_so_one_late_sample_is_not_the_estimate():
    m = RecentMinimum(60.0)
    m.add(0.010, 0.0)
    assert m.add(4.0, 61.0) == 0.010  # a new window began with a backlog's sample
    assert m.add(4.0, 122.0) == 4.0  # two windows on, only what was seen lately counts


def test_a_clock_that_stepped_is_followed_within_two_windows():
    m = RecentMinimum(60.0)
    for t in range(0, 60, 5):
        m.add(0.01, float(t))
    for t in range(60, 200, 5):  # the other clock stepped back 30 s: offsets grew by 30
        m.add(30.01, float(t))
    assert m.value == 30.01  # a lifetime minimum would have stayed at 0.01 for ever


def test_a_caller_whose_clock_stepped_is_not_refused_for_ever():
    clocks = CallerClocks()
    ours = 1000.0
    assert clocks.late(f"{ours + 2:.3f};sent={ours:.3f};by=a", ours + 0.01) is None
    stepped = ours - 30.0  # the caller's clock stepped back 30 s (an NTP step)
    for _ in range(1, 200):
        ours += 5.0
        stepped += 5.0
        late = clocks.late(f"{stepped + 2:.3f};sent={stepped:.3f};by=a", ours + 0.01)
    assert late is None  # read on the offset it has now, not the one it had

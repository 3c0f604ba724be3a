"""Figures read after a chaos run: convergence after a heal (orders open at the heal, until
the last of them was seen terminal), its spread over windows, the duplicate deliveries
counted from the services' logs, and the effects a duplicate could have had."""

from __future__ import annotations

import json

from mercato.chaos.figures import convergence, duplicate_effects, duplicates_dropped, spread


def test_convergence_waits_for_the_orders_open_at_the_heal_only():
    timeline = [(1.0, 2.0),    # ended before the heal: not waited for
                (3.0, 11.5),   # open at the heal (10): settled 1.5 s after
                (9.0, 10.4),
                (12.0, 30.0)]  # sent after the heal: not this fault's
    assert convergence(timeline, 10.0) == 1.5
    assert convergence(timeline[:1], 10.0) == 0.0  # nothing open: settled at once
    assert convergence([(5.0, None), (6.0, 11.0)], 10.0) is None  # one never ended


def test_spread_over_windows_counts_the_unsettled_apart():
    assert spread([0.5, 2.0, None, 1.0]) == {
        "windows": 4, "unsettled": 1, "p50_s": 1.0, "p99_s": 2.0, "max_s": 2.0}
    assert spread([]) == {"windows": 0, "unsettled": 0, "p50_s": None, "p99_s": None,
                          "max_s": None}


def test_duplicates_are_counted_per_consumer_from_every_log_killed_processes_included(
        tmp_path):
    def line(event: str, consumer: str) -> str:
        return json.dumps({"event": event, "consumer": consumer, "event_id": "e"}) + "\n"

    (tmp_path / "orders-1.log").write_text(
        line("event_duplicate_dropped", "orders__payments") + "not json event_duplicate_dropped\n"
        + line("consumer_fetch_failed", "orders__payments"))
    (tmp_path / "orders-2.log").write_text(  # the same consumer on another instance
        line("event_duplicate_dropped", "orders__payments")
        + line("event_duplicate_dropped", "cart__orders"))
    (tmp_path / "notes.txt").write_text(line("event_duplicate_dropped", "x__y"))
    assert duplicates_dropped(tmp_path) == {"cart__orders": 1, "orders__payments": 2}


def test_duplicate_effects_are_the_violations_of_the_invariants_a_duplicate_breaks():
    checks = [{"name": "no order charged twice", "ok": False, "count": 2},
              {"name": "stock conserved", "ok": False, "count": 0},  # failed, no count
              {"name": "nothing stuck", "ok": False, "count": 5},  # not a duplicate's
              {"name": "money conserved", "ok": True, "count": 0}]
    assert duplicate_effects(checks) == 3

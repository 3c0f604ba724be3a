"""The chaos report's shaping: verify's invariants named as docs/chaos.md §4 names them
(verify's own name kept), the load's figures in the report's terms, and the exit code:
0 only when every invariant held in every mode."""

from __future__ import annotations

from rich.console import Console

from mercato.chaos.report import INV, exit_code, inv_names, shape, shape_mode, tables
from mercato.cli.invariants import CHECKS, Facts, check_all


def check(number: int, name: str, ok: bool = True, count: int = 0) -> dict:
    return {"number": number, "name": name, "ok": ok, "figures": "figures",
            "violations": ["order o1: pending"] if count else [], "count": count}


def raw(mode: str = "orchestration", *failing: str) -> dict:
    names = ["stock conserved", "sold matches confirmed orders", "money conserved",
             "no order charged twice", "nothing stuck", "every event consumed",
             "delivered orders were confirmed and shipped"]
    return {
        "mode": mode,
        "load": {"errors": {"503": 2}, "sessions": {"started": 100, "completed": 95,
                                                     "failed": 3, "dropped": 0,
                                                     "unfinished": 0, "in_flight": 0},
                 "orders": {"placed": 97, "confirmed": 80, "cancelled": {"declined": 7},
                            "cancelled_total": 7, "pending": 1, "cancel_refused": 0}},
        "faults": [{"id": "F6", "fault": "partition", "target": "to-payments-*",
                    "start": 3.5, "end": 9.0, "healed": "healed 1 proxies",
                    "convergence_s": 2.5}],
        "checks": [check(n, name, name not in failing, 1 if name in failing else 0)
                   for n, name in enumerate(names, 1)],
        "waited_s": 4.2, "convergence_s": 12.3 if not failing else None,
        "convergence": {"windows": 1, "unsettled": 0, "p50_s": 2.5, "p99_s": 2.5,
                        "max_s": 2.5},
        "duplicates": {"dropped": {"orders__payments": 4}, "effects": 0},
    }


def test_every_invariant_verify_checks_has_a_report_name():
    names = {c.name for c in check_all(Facts())}
    assert len(names) == len(CHECKS)
    assert names == set(INV)


def test_invariants_are_named_as_the_design_names_them():
    assert inv_names("stock conserved") == "INV-stock"
    assert inv_names("money conserved") == "INV-money"
    assert inv_names("no order charged twice") == "INV-once"
    assert inv_names("nothing stuck") == "INV-term/INV-flow"
    assert inv_names("every event consumed") == "INV-events"
    assert inv_names("something new") == "INV-?"


def test_a_mode_section_has_the_orders_the_faults_and_each_invariant_with_verify_name():
    section = shape_mode(raw())
    assert section["orders"] | {"api_errors": None} == {
        "attempted": 100, "placed": 97, "confirmed": 80, "cancelled": {"declined": 7},
        "cancelled_total": 7, "failed_at_api": 3, "api_errors": None, "still_pending": 1,
        "dropped": 0, "unfinished": 0}
    assert section["faults"] == [{"id": "F6", "fault": "partition",
                                  "target": "to-payments-*", "start": 3.5, "end": 9.0,
                                  "healed": "healed 1 proxies", "convergence_s": 2.5}]
    stuck = section["invariants"][4]
    assert (stuck["inv"], stuck["verify"], stuck["violations"]) == (
        "INV-term/INV-flow", "5. nothing stuck", 0)
    assert section["ok"] and section["convergence_s"] == 12.3


def test_exit_code_is_0_only_when_every_invariant_holds_in_every_mode():
    good = shape([raw("orchestration"), raw("choreography")], seed=1, duration=20, rate=5,
                 faults=["F6"], left_out=[])
    assert good["ok"] and exit_code(good["modes"]) == 0
    bad = shape([raw("orchestration"), raw("choreography", "money conserved")], seed=1,
                duration=20, rate=5, faults=["F6"], left_out=[])
    assert not bad["ok"] and exit_code(bad["modes"]) == 1
    assert bad["modes"][1]["invariants"][2]["violations"] == 1
    assert exit_code([]) == 1  # no mode ran: nothing held
    no_checks = raw()
    no_checks["checks"] = []
    assert exit_code([shape_mode(no_checks)]) == 1


def test_the_tables_show_each_mode_its_faults_and_violations():
    report = shape([raw("orchestration"), raw("choreography", "nothing stuck")], seed=1,
                   duration=20, rate=5, faults=["F6"], left_out=[])
    console = Console(record=True, width=200)
    for table in tables(report):
        console.print(table)
    text = console.export_text()
    assert text.count("to-payments-*") == 2
    assert "choreography: invariants (VIOLATED" in text
    assert "INV-term/INV-flow" in text and "5. nothing stuck" in text
    assert "2.5s / 2.5s / 2.5s" in text and "12.3s after the last heal" in text
    assert "orders__payments 4" in text

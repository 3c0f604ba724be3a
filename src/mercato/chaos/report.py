"""The chaos report: pure shaping of what each mode's run returned (``run.run_mode``)
into the report's figures, its rich tables, and the exit code.

Each of ``mercato verify``'s invariants is named as docs/chaos.md §4 names them, verify's
own name kept next to it: stock conserved and sold-matches-confirmed are INV-stock, money
conserved INV-money, no order charged twice INV-once, nothing stuck INV-term and INV-flow,
every event consumed INV-events, delivered-were-confirmed-and-shipped INV-flow.
"""

from __future__ import annotations

from rich.table import Table

INV = {  # verify's invariant name -> the report's names (docs/chaos.md §4)
    "stock conserved": ("INV-stock",),
    "sold matches confirmed orders": ("INV-stock",),
    "money conserved": ("INV-money",),
    "no order charged twice": ("INV-once",),
    "nothing stuck": ("INV-term", "INV-flow"),
    "every event consumed": ("INV-events",),
    "delivered orders were confirmed and shipped": ("INV-flow",),
    "points credited once": ("INV-loyalty",),
}


def inv_names(verify_name: str) -> str:
    return "/".join(INV.get(verify_name, ("INV-?",)))


def shape_mode(raw: dict) -> dict:
    """One mode's section of the report (the ``--json`` shape) from its raw figures."""
    load = raw["load"]
    orders, sessions = load["orders"], load["sessions"]
    return {
        "mode": raw["mode"],
        "orders": {
            "attempted": sessions["started"], "placed": orders["placed"],
            "confirmed": orders["confirmed"], "cancelled": orders["cancelled"],
            "cancelled_total": orders["cancelled_total"],
            "failed_at_api": sessions["failed"], "api_errors": load["errors"],
            "still_pending": orders["pending"], "dropped": sessions["dropped"],
            "unfinished": sessions["unfinished"],
        },
        "faults": [{k: f.get(k) for k in ("id", "fault", "target", "start", "end", "healed",
                                          "error", "skipped", "convergence_s") if k in f}
                   for f in raw["faults"]],
        "invariants": [{"inv": c.get("inv") or inv_names(c["name"]),
                        "verify": f"{c['number']}. {c['name']}" if c["number"] else c["name"],
                        "ok": c["ok"], "violations": c["count"], "figures": c["figures"],
                        "examples": c["violations"]} for c in raw["checks"]],
        "ok": bool(raw["checks"]) and all(c["ok"] for c in raw["checks"]),
        "waited_s": raw.get("waited_s"),
        "convergence_s": raw.get("convergence_s"),
        "convergence": raw.get("convergence") or {},
        "duplicates": raw.get("duplicates") or {"dropped": {}, "effects": 0},
    }


def shape(modes: list[dict], *, seed: int, duration: float, rate: float,
          faults: list[str], left_out: list[str]) -> dict:
    """The whole report: the options, each mode's section, and whether all held."""
    sections = [shape_mode(m) for m in modes]
    return {"seed": seed, "duration_s": duration, "rate": rate, "faults": faults,
            "not_scheduled": left_out, "modes": sections, "ok": exit_code(sections) == 0}


def exit_code(sections: list[dict]) -> int:
    """0 only when there is at least one mode and every invariant held in every mode."""
    return 0 if sections and all(s["ok"] for s in sections) else 1


def tables(report: dict) -> list[Table]:
    """Per mode: the orders, the faults, the invariants (rich tables, printed by the CLI)."""
    out = []
    for s in report["modes"]:
        o = s["orders"]
        cancelled = "\n".join(f"{k} {v}" for k, v in o["cancelled"].items()) or "-"
        errors = ", ".join(f"{k} {v}" for k, v in o["api_errors"].items()) or "-"
        orders = Table("attempted", "placed", "confirmed", "cancelled (by reason)",
                       "failed at the API (errors)", "still pending",
                       title=f"{s['mode']}: orders")
        orders.add_row(str(o["attempted"]), str(o["placed"]), str(o["confirmed"]),
                       f"{o['cancelled_total']}\n{cancelled}",
                       f"{o['failed_at_api']} ({errors})", str(o["still_pending"]))
        faults = Table("id", "target", "start s", "end s", "outcome", "orders settled",
                       title=f"{s['mode']}: faults injected")
        for f in s["faults"]:
            end = "-" if f.get("end") is None else f"{f['end']:.1f}"
            settled = (_s(f["convergence_s"]) if f.get("convergence_s") is not None
                       else "never" if "convergence_s" in f else "-")
            faults.add_row(f["id"], f.get("target") or "-", f"{f['start']:.1f}", end,
                           f.get("error") or f.get("skipped") or f.get("healed") or "",
                           settled)
        c, dup, conv = s["convergence"], s["duplicates"], s["convergence_s"]
        recovery = Table("orders open at a heal settled (p50 / p99 / max)",
                         "never settled", "invariants held", "duplicate deliveries dropped",
                         "duplicate effects", title=f"{s['mode']}: recovery")
        by_consumer = "\n".join(f"{k} {v}" for k, v in dup["dropped"].items())
        recovery.add_row(
            f"{_s(c.get('p50_s'))} / {_s(c.get('p99_s'))} / {_s(c.get('max_s'))}",
            str(c.get("unsettled", 0)),
            "-" if conv is None else f"{conv:.1f}s after the last heal",
            f"{sum(dup['dropped'].values())}" + (f"\n{by_consumer}" if by_consumer else ""),
            str(dup["effects"]))
        invariants = Table("invariant", "verify", "violations", "figures",
                           title=f"{s['mode']}: invariants "
                                 f"({'all hold' if s['ok'] else 'VIOLATED'})")
        for i in s["invariants"]:
            mark = "[green]0[/]" if i["ok"] else f"[red]{i['violations'] or 'FAIL'}[/]"
            invariants.add_row(i["inv"], i["verify"], mark, i["figures"])
        out += [orders, faults, recovery, invariants]
    return out


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"

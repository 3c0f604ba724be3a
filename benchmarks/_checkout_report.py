"""bench_checkout's output: the throughput and latency table, the CPU table, the saga's
phases, the verdict against the issue's goal, and the tables that compare saga modes,
internal transports and source trees."""

from __future__ import annotations

import collections
import math
import os
import statistics
import sys

from _checkout_load import pct
from _checkout_setup import PROCS, VARIANTS

GOAL_RPS, GOAL_RATE, GOAL_P99_MS = 300.0, 200.0, 250.0


def _med(runs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt_ms(v: float | None) -> str:
    """Milliseconds for a table cell: '-' for none, 'unconf.' for never confirmed."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return "unconf."
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def _errors(runs: list[dict]) -> str:
    kinds: collections.Counter[str] = collections.Counter()
    for r in runs:
        kinds.update(r["errors"])
    total = sum(kinds.values())
    text = str(total) + ("" if not total else " " + ",".join(
        f"{k}:{v}" for k, v in sorted(kinds.items())))
    return text


def _console():
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=170)


def print_tables(results: list[list[dict]], args) -> None:
    """The throughput and latency table, the errors by kind, and the CPU table."""
    from rich.table import Table

    console = _console()
    t = Table(
        title=f"Checkout vs catalog read through the gateway: open loop at {args.rate:g}/s "
        f"offered, closed loop with {args.concurrency} clients; checkout windows "
        f"{args.duration:g} s, read windows {args.read_duration:g} s, {args.rounds} round(s) "
        "(median)",
        title_justify="left", caption_justify="left",
        caption="done/s: confirmed orders (OrderConfirmed received inside the window) or "
        "200s per second. x read: done/s against the read variant of the same loop. req "
        "p50/p99: POST (checkout) or GET (read) latency, from when the request was due "
        "(open loop) or sent (closed loop). ->confirmed: from due/sent to the OrderConfirmed "
        "event reaching the load process ('unconf.' when more than 1% (p99) or 50% (p50) "
        "never confirmed within the drain); relay: its part between the confirming "
        "transaction (occurred_at) and the event's arrival. errors: non-2xx/exceptions, "
        "cancelled orders, orders still pending after the drain (by kind below the table). "
        "placed anyway: orders whose POST failed (the gateway's 503 after its call timeout) "
        "but which orders placed and confirmed all the same. max in flight: requests open at "
        "once in the load generator. drain: seconds from the last POST's answer to the last "
        "confirmation.",
    )
    t.add_column("variant", no_wrap=True)
    for head in ("offered/s", "done/s", "x read", "req p50 ms", "req p99 ms",
                 "->confirmed p50 ms", "->confirmed p99 ms", "relay p50/p99 ms", "errors",
                 "placed anyway", "max in flight", "drain s", "spread"):
        t.add_column(head, justify="right")
    for i, (label, kind, mode, base) in enumerate(VARIANTS):
        runs = results[i]
        if not runs:
            continue
        done, base_done = _med(runs, "done_rps"), _med(results[base], "done_rps")
        vals = [r["done_rps"] for r in runs]
        spread = (max(vals) - min(vals)) / statistics.median(vals) if len(vals) > 1 and \
            statistics.median(vals) else 0.0
        offered = "-" if mode == "closed" else f"{_med(runs, 'offered'):,.0f}"
        relay = "-" if kind == "read" else \
            f"{fmt_ms(_med(runs, 'relay_p50_ms'))}/{fmt_ms(_med(runs, 'relay_p99_ms'))}"
        t.add_row(label, offered, f"{done:,.1f}",
                  "-" if i == base or not base_done else f"{done / base_done:.3f}",
                  fmt_ms(_med(runs, "req_p50_ms")), fmt_ms(_med(runs, "req_p99_ms")),
                  fmt_ms(_med(runs, "conf_p50_ms")) if kind == "checkout" else "-",
                  fmt_ms(_med(runs, "conf_p99_ms")) if kind == "checkout" else "-",
                  relay, str(sum(sum(r["errors"].values()) for r in runs)),
                  str(sum(r.get("orphans", 0) for r in runs)) if kind == "checkout" else "-",
                  str(max(r["in_flight_max"] for r in runs)),
                  f"{_med(runs, 'drain_s'):.1f}" if kind == "checkout" else "-",
                  f"{spread:.0%}", end_section=(i % 2 == 1))
    console.print(t)

    kinds: dict[str, str] = {}
    for (label, *_), runs in zip(VARIANTS, results, strict=True):
        if any(r["errors"] for r in runs):
            print(f"errors of {label}: {_errors(runs)}")
        for r in runs:
            for k, v in r.get("error_samples", {}).items():
                kinds.setdefault(k, v)
    for k, v in kinds.items():
        print(f"first answer of kind {k}: {v}")

    c = Table(
        title="Where the CPU goes: cores used during each window (CPU s / window s), CPU ms "
        "per completed operation (confirmed order or read) and, for checkouts, run-queue wait "
        "(s runnable but without a CPU / window s), median over rounds",
        title_justify="left", caption_justify="left",
        caption="From /proc/<pid>/stat and /proc/<pid>/task/*/schedstat at the window's edges. "
        "up = the `mercato up` supervisor; load = the load generator (this script's child). "
        "(b)/(a), (d)/(c): CPU per confirmed order / CPU per read, same loop. The machine has "
        f"{os.cpu_count()} cores: a total near {os.cpu_count()} cores, or a large wait, means "
        "the box is saturated (other processes on this shared machine are not counted; the "
        "load averages at start and end show them).",
    )
    c.add_column("process", no_wrap=True)
    for label, kind, _, _ in VARIANTS:
        short = label.split(")")[0] + ")"
        c.add_column(f"{short} cores", justify="right")
        c.add_column(f"{short} ms/op", justify="right")
        if kind == "checkout":
            c.add_column(f"{short} wait", justify="right")
    c.add_column("(b)/(a) per op", justify="right")
    c.add_column("(d)/(c) per op", justify="right")

    def secs(r: dict, key: str, proc: str) -> float | None:
        if proc == "total":
            vals = [v for v in r[key].values() if v is not None]
            return sum(vals) if vals else None
        return r[key].get(proc)

    def per_window(runs: list[dict], key: str, proc: str) -> float | None:
        vals = [v / r["duration"] for r in runs if (v := secs(r, key, proc)) is not None]
        return statistics.median(vals) if vals else None

    def per_op(runs: list[dict], proc: str) -> float | None:
        vals = [v / (r["done_rps"] * r["duration"]) * 1e3 for r in runs
                if (v := secs(r, "cpu_s", proc)) is not None and r["done_rps"]]
        return statistics.median(vals) if vals else None

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    for proc in (*PROCS, "total"):
        row = [proc]
        ops = []
        for i, (_, kind, _, _) in enumerate(VARIANTS):
            ops.append(per_op(results[i], proc))
            row += [fmt(per_window(results[i], "cpu_s", proc)), fmt(ops[-1])]
            if kind == "checkout":
                row.append(fmt(per_window(results[i], "wait_s", proc)))
        for a, b in ((1, 0), (3, 2)):
            row.append("-" if not ops[a] or not ops[b] else f"{ops[a] / ops[b]:.1f}")
        c.add_row(*row, end_section=proc in ("cart", "load"))
    console.print(c)


def print_phases(phases_by_variant: dict[str, dict[str, list[float]]]) -> None:
    """Where POST->confirmed goes, by saga step, for each checkout variant."""
    from rich.table import Table

    if not any(phases_by_variant.values()):
        return
    t = Table(
        title="Where POST->confirmed goes, from the saga's own step times (GET "
        "/api/v1/ops/sagas/<id>) of a sample of confirmed orders (ms)",
        title_justify="left", caption_justify="left",
        caption="Each step's time is its call to the participant (orders' view: started_at "
        "to finished_at); 'between steps' is saving the saga before and after each call, "
        "reading it back and waiting for the event loop. The rows before 'total' add up to it "
        "(p50s need not).",
    )
    t.add_column("phase", no_wrap=True)
    for label in phases_by_variant:
        n = len(next(iter(phases_by_variant[label].values()), []))
        t.add_column(f"{label.split(')')[0]}) p50 (n={n})", justify="right")
        t.add_column(f"{label.split(')')[0]}) p90", justify="right")
    names = list(next(p for p in phases_by_variant.values() if p))
    for name in names:
        row = [name]
        for phases in phases_by_variant.values():
            vals = phases.get(name, [])
            row += [fmt_ms(pct(vals, 0.5)) if vals else "-",
                    fmt_ms(pct(vals, 0.9)) if vals else "-"]
        t.add_row(*row)
    _console().print(t)


def print_verdict(results: list[list[dict]], args) -> None:
    """The results against the issue's goal (300 confirmed/s, p99 < 250 ms at 200/s)."""
    b, d = results[1], results[3]
    print("\nGoal of the issue on this machine: 300 confirmed orders/s, and p99 under 250 ms "
          "at 200 orders/s offered.")
    if d:
        best = _med(d, "done_rps")
        print(f"  max confirmed orders/s (closed loop, {args.concurrency} clients): {best:,.1f} "
              f"= {best / GOAL_RPS:.0%} of the goal of {GOAL_RPS:g}")
        per_order = statistics.median(
            sum(v for v in r["cpu_s"].values() if v is not None) / (r["done_rps"] * r["duration"])
            for r in d if r["done_rps"])
        orders = statistics.median(r["cpu_s"]["orders"] / (r["done_rps"] * r["duration"])
                                   for r in d if r["done_rps"] and r["cpu_s"].get("orders"))
        cores = os.cpu_count() or 1
        print(f"  CPU per confirmed order in (d): {per_order * 1e3:.1f} ms over all processes, so "
              f"{cores} cores carry at most {cores / per_order:,.0f} orders/s even if nothing "
              f"else ran and every process overlapped perfectly; the goal needs <= "
              f"{cores / GOAL_RPS * 1e3:.1f} ms. The orders process alone: "
              f"{orders * 1e3:.1f} ms per order on one event loop, at most {1 / orders:,.0f} "
              "orders/s")
    if b:
        offered, done, p99 = _med(b, "offered"), _med(b, "done_rps"), _med(b, "conf_p99_ms")
        at = "" if abs(args.rate - GOAL_RATE) < 1e-9 else \
            f" (note: measured at {args.rate:g}/s, not the goal's {GOAL_RATE:g}/s)"
        p99_text = "never (more than 1% unconfirmed)" if math.isinf(p99) else f"{p99:,.0f} ms"
        print(f"  at {offered:,.0f} orders/s offered: {done:,.1f} confirmed/s "
              f"({done / offered:.0%} of offered), POST->confirmed p99 {p99_text} "
              f"(goal < {GOAL_P99_MS:g} ms: {'met' if p99 < GOAL_P99_MS else 'missed'}){at}")


def print_modes(by_mode: dict[str, list[list[dict]]]) -> None:
    """Both checkout modes side by side (each ran on a platform of its own, one after the
    other; the ratio is to the orchestration)."""
    rows = []
    for mode, results in by_mode.items():
        b, d = (results[1], results[3]) if results else ([], [])
        rows.append((mode, _med(d, "done_rps") if d else None,
                     _med(d, "conf_p50_ms") if d else None, _med(d, "conf_p99_ms") if d else None,
                     _med(b, "done_rps") if b else None, _med(b, "conf_p50_ms") if b else None,
                     _med(b, "conf_p99_ms") if b else None))
    base = rows[0][1] if rows and rows[0][1] else None
    print("\nCheckout modes (MERCATO_SAGA_MODE), POST->confirmed")
    print("| mode | (d) max confirmed/s | x orchestration | (d) p50 ms | (d) p99 ms "
          "| (b) confirmed/s | (b) p50 ms | (b) p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, dr, d50, d99, br, b50, b99 in rows:
        ratio = f"{dr / base:.2f}" if base and dr else "-"
        print(f"| {mode} | {dr or 0:,.1f} | {ratio} | {fmt_ms(d50)} | {fmt_ms(d99)} "
              f"| {br or 0:,.1f} | {fmt_ms(b50)} | {fmt_ms(b99)} |")


def _per_order(runs: list[dict], proc: str) -> str:
    vals = [r["cpu_s"][proc] / (r["done_rps"] * r["duration"]) * 1000 for r in runs
            if r["cpu_s"].get(proc) is not None]
    return f"{statistics.median(vals):.2f}" if vals else "-"


def print_trees(by_tree: dict[tuple[str, str], list[list[dict]]]) -> None:
    """Each run (mode, internal transport, source tree; each on a platform of its own, one
    after the other) against the first of its mode (the baseline tree's, with
    --baseline-src): the closed loop's confirmed/s and CPU per confirmed order."""
    print("\nRuns side by side, (d) closed loop: x = against the mode's first run "
          "(the baseline tree's with --baseline-src)")
    print("| mode | tree | (d) confirmed/s | x | CPU ms/order, all | x "
          "| orders ms/order | inventory ms/order | payments ms/order "
          "| (d) p50 / p99 ms | (b) p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base: dict[str, tuple[float, float]] = {}
    for (label, tree), results in by_tree.items():
        mode = label.split(",")[0]
        d = [r for r in (results[3] if results else []) if r["done_rps"]]
        b = [r for r in (results[1] if results else []) if r["done_rps"]]
        if not d:
            print(f"| {label} | {tree} | - | - | - | - | - | - | - | - | - |")
            continue
        rps = _med(d, "done_rps")
        cpu = statistics.median(sum(v for v in r["cpu_s"].values() if v is not None)
                                / (r["done_rps"] * r["duration"]) * 1000 for r in d)
        b_rps, b_cpu = base.setdefault(mode, (rps, cpu))
        open_loop = (f"{fmt_ms(_med(b, 'conf_p50_ms'))} / {fmt_ms(_med(b, 'conf_p99_ms'))}"
                     if b else "-")
        print(f"| {label} | {tree} | {rps:,.1f} | {rps / b_rps:.2f} | {cpu:.1f} "
              f"| {cpu / b_cpu:.2f} | {_per_order(d, 'orders')} "
              f"| {_per_order(d, 'inventory')} | {_per_order(d, 'payments')} "
              f"| {fmt_ms(_med(d, 'conf_p50_ms'))} / {fmt_ms(_med(d, 'conf_p99_ms'))} "
              f"| {open_loop} |")


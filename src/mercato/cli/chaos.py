"""``mercato chaos``: per saga mode, a platform of its own under a steady load while a
seeded schedule of faults (docs/chaos.md §3) is injected; then quiescence and the
invariants. Exit 0 only when every invariant held in every mode, 1 otherwise, 2 for bad
options. Progress goes to stderr; the report (tables, or ``--json``) to stdout."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Annotated

import typer

MODES = ("orchestration", "choreography")
CHAOS_HELP = (
    "Break a platform on purpose under load and check that nothing is lost.\n\n"
    "For each saga mode: start `mercato up --fault-proxies` in a temporary data dir "
    "(saga step deadline --step-deadline), seed a catalog with plenty of stock, run "
    "`mercato load`'s open loop at --rate for --duration seconds while faults from a "
    "schedule drawn from --seed are injected and healed (non-overlapping windows, each "
    "requested fault at least once when the duration allows), heal everything, wait for "
    "the invariants of `mercato verify` (up to 120 s) and report them as INV-... "
    "(docs/chaos.md §4).\n\n"
    "Faults available: F1 (SIGKILL of an orders/inventory/payments/shipping instance), "
    "F2 (SIGKILL of NATS, or of one node with --nats-cluster), F3 (a relay killed between "
    "publish and marking sent, back after the duplicate window), F4 (NATS's store deleted: "
    "re-driven from the outboxes), F5 (latency, jitter and resets to a participant), F6 "
    "(payments partitioned past the step deadline), F7 (captured events re-sent: duplicated, "
    "reversed, late), F8 (the card provider answering past the timeout after doing the "
    "work), F9 (a service's database write-locked or its disk full), F10 (20 buyers for the "
    "last unit, inventory killed), F11 (a service's clock 5 minutes off), F12 (signing key "
    "rotated twice).\n\n"
    "Exit 0 only when every invariant holds in every mode; 1 otherwise; 2 on bad options."
)


def chaos(
    mode: Annotated[str, typer.Option(
        "--mode", help="orchestration, choreography or both.")] = "both",
    duration: Annotated[float, typer.Option(
        "--duration", min=5.0, help="Seconds of load (and faults) per mode.")] = 60.0,
    faults: Annotated[str, typer.Option(
        "--faults", help="Comma-separated fault ids (default: all available).")] = "",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the schedule and the load.")]
    = 1,
    rate: Annotated[float, typer.Option(
        "--rate", min=0.1, help="Shopping sessions started per second.")] = 5.0,
    step_deadline: Annotated[float, typer.Option(
        "--step-deadline", min=0.5, help="MERCATO_SAGA_STEP_DEADLINE of the platform.")]
    = 3.0,
    nats_cluster: Annotated[int, typer.Option(
        "--nats-cluster", metavar="N", min=1, max=9,
        help="Run the platform's NATS as a cluster of N servers (as `mercato up "
             "--nats-cluster`); F2 then kills one node picked from the seed.")] = 1,
    keep: Annotated[bool, typer.Option(
        "--keep", help="Keep each mode's data dir and logs even when all held.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The report as one JSON object.")]
    = False,
) -> None:
    """Run the chaos test (help: CHAOS_HELP)."""
    from mercato.chaos.faults import lengths
    from mercato.chaos.schedule import UnknownFault, draw_schedule, left_out, parse_faults

    if mode not in (*MODES, "both"):
        _fail(f"--mode is orchestration, choreography or both, not {mode!r}")
    available = lengths(step_deadline)
    try:
        wanted = parse_faults(faults or ",".join(available), available)
    except UnknownFault as exc:
        _fail(str(exc))
    schedule = draw_schedule(wanted, available, duration, seed)
    skipped = left_out(wanted, schedule)
    modes = list(MODES) if mode == "both" else [mode]
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the platforms too
    try:
        raw = asyncio.run(_run_all(modes, schedule, duration, rate, seed, step_deadline,
                                   keep, skipped, nats_cluster))
    except KeyboardInterrupt:
        typer.echo("interrupted: the platforms were stopped", err=True)
        raise typer.Exit(130) from None
    _print(raw, as_json, seed=seed, duration=duration, rate=rate, faults=wanted,
           skipped=skipped)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


async def _run_all(modes, schedule, duration, rate, seed, step_deadline, keep, skipped,
                   nats_nodes):
    from rich.console import Console

    from mercato.chaos.run import ChaosOptions, run_mode

    err = Console(stderr=True, highlight=False, soft_wrap=True)

    def say(line: str) -> None:
        err.print(line, markup=False)

    plan = ", ".join(f"{w.fault} {w.start:g}-{w.end:g}s" for w in schedule) or "none"
    say(f"mercato chaos: seed {seed}, {duration:g}s at {rate:g}/s; schedule: {plan}")
    if skipped:
        say(f"not scheduled (the duration is too short for them): {', '.join(skipped)}")
    opts = ChaosOptions(duration=duration, rate=rate, seed=seed, step_deadline=step_deadline,
                        keep=keep, nats_nodes=nats_nodes)
    return [await run_mode(m, schedule, opts, say) for m in modes]


def _print(raw: list[dict], as_json: bool, **options) -> None:
    from rich.console import Console

    from mercato.chaos.report import exit_code, shape, tables

    report = shape(raw, seed=options["seed"], duration=options["duration"],
                   rate=options["rate"], faults=options["faults"],
                   left_out=options["skipped"])
    if as_json:
        print(json.dumps(report))
    else:
        console = Console() if sys.stdout.isatty() else Console(width=160)  # a file: wide
        for table in tables(report):
            console.print(table)
        console.print("[green]every invariant holds in every mode[/]" if report["ok"]
                      else "[red]invariants violated[/]")
    raise typer.Exit(exit_code(report["modes"]))

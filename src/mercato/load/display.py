"""The live view of a load run and its final table (rich), both drawn from
``Stats.snapshot``: what ``--json`` prints is exactly what the table shows.

The live view refreshes twice a second on stderr, only when stderr is a terminal (a log
file gets the final table, not hundreds of frames); ``--json`` turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mercato.load.stats import CUSTOMER_WAIT, PLACE, SESSION, START_LAG, TO_CONFIRMED, Stats

REFRESH = 0.5  # seconds


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def figures_table(snap: dict, title: str, duration: float | None = None) -> Group:
    """The run's figures: throughput, sessions, orders, errors, latencies."""
    elapsed = f"{snap['elapsed_s']:.1f} s" + (f" / {duration:g} s" if duration else "")
    sessions, orders = snap["sessions"], snap["orders"]
    summary = Table(title=title, show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("elapsed", elapsed)
    summary.add_row("requests", f"{snap['requests']:,} ({snap['requests_per_s']:,.1f}/s)")
    summary.add_row("sessions", ", ".join(f"{k} {v}" for k, v in sessions.items()))
    cancelled = ", ".join(f"{k} {v}" for k, v in orders["cancelled"].items()) or "none"
    summary.add_row("orders", f"placed {orders['placed']}, confirmed {orders['confirmed']}, "
                              f"pending {orders['pending']}")
    summary.add_row("cancelled", f"{orders['cancelled_total']} ({cancelled})"
                    + (f", cancel too late {orders['cancel_refused']}"
                       if orders["cancel_refused"] else ""))
    errors = ", ".join(f"{k} {v}" for k, v in snap["errors"].items())
    summary.add_row("errors", Text(f"{snap['error_count']}" + (f" ({errors})" if errors else ""),
                                   style="red" if snap["error_count"] else ""))
    latency = Table(title="latency (ms)", title_justify="left")
    for col in ("", "count", "p50", "p95", "p99"):
        latency.add_column(col, justify="left" if not col else "right")
    labels = {PLACE: PLACE, TO_CONFIRMED: "POST -> confirmed", SESSION: "session (intended)",
              START_LAG: "start lag", CUSTOMER_WAIT: "waiting for a customer"}
    for name, label in labels.items():
        row = snap["latency_ms"].get(name, {})
        latency.add_row(label, str(row.get("count", 0)),
                        *(_ms(row.get(p)) for p in ("p50", "p95", "p99")))
    return Group(summary, latency)


async def live_view(stats: Stats, started: Callable[[], float], duration: float,
                    title: str, console: Console | None = None,
                    clock: Callable[[], float] = time.monotonic) -> None:
    """Redraw the figures until cancelled (run it as a task beside the load)."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        await asyncio.Event().wait()  # nothing to draw; wait to be cancelled
    with Live(console=console, auto_refresh=False, transient=True) as live:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                snap = stats.snapshot(max(1e-9, clock() - started()))
                live.update(figures_table(snap, title, duration), refresh=True)
                await asyncio.sleep(REFRESH)

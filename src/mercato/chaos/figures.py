"""Figures of a chaos run read after the fact: how long the orders took to settle after
each fault (convergence), and how many duplicate deliveries the consumers' inboxes
dropped (read from the services' logs, so a process killed during the run still counts).
Pure functions, except ``duplicates_dropped`` which reads the log files.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from mercato.chassis.messaging.consumer import DUPLICATE_DROPPED
from mercato.load.stats import percentile

# verify's invariants a duplicate delivery with an effect would break (docs/chaos.md §4)
EFFECTS = ("no order charged twice", "stock conserved", "sold matches confirmed orders",
           "money conserved")


def convergence(timeline: list[tuple[float, float | None]], heal: float) -> float | None:
    """Seconds from ``heal`` until every order sent before it, and not seen terminal
    by then, was seen terminal: 0.0 when none was open; None when one never ended
    (the shopper gave up following it). Times on one clock; as fine as the shopper's
    polling (0.2 s to 0.5 s between reads)."""
    open_then = [ended for sent, ended in timeline
                 if sent <= heal and (ended is None or ended > heal)]
    if any(ended is None for ended in open_then):
        return None
    return round(max((ended - heal for ended in open_then), default=0.0), 2)


def spread(values: list[float | None]) -> dict:
    """p50/p99/max of the windows' convergence; ``unsettled`` counts the None ones."""
    known = [v for v in values if v is not None]
    return {"windows": len(values), "unsettled": len(values) - len(known),
            "p50_s": percentile(known, 50), "p99_s": percentile(known, 99),
            "max_s": max(known, default=None)}


def duplicates_dropped(logs: Path) -> dict[str, int]:
    """Per durable consumer, the deliveries its inbox dropped, from every log file of
    ``logs`` (``event_duplicate_dropped`` lines, written by chassis/messaging/consumer)."""
    found: Counter = Counter()
    for path in sorted(logs.glob("*.log")):
        with path.open(errors="replace") as lines:
            for line in lines:
                if DUPLICATE_DROPPED not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("event") == DUPLICATE_DROPPED:
                    found[entry.get("consumer", "?")] += 1
    return dict(sorted(found.items()))


def duplicate_effects(checks: list[dict]) -> int:
    """Violations of the invariants a duplicate with an effect would break."""
    return sum(c["count"] or (0 if c["ok"] else 1) for c in checks if c["name"] in EFFECTS)

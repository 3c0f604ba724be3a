"""One checkout saga as a step timeline: each forward step and each compensation with its
state, attempts (retries), duration and a bar placed within the saga's whole run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SCALE = 1000
COMPENSATIONS = frozenset({"release_stock", "void_payment", "cancel_shipment",
                           "refund_payment", "return_stock"})
FINAL_PHASES = frozenset({"confirmed", "cancelled"})
STATES = {"done": "done", "running": "running", "rejected": "rejected",
          "unknown": "gave up", "compensated": "compensated"}


@dataclass
class StepRow:
    name: str
    compensation: bool
    state: str
    attempts: int
    failures: int
    started_at: str | None
    finished_at: str | None
    ms: float | None
    x: int
    width: int
    detail: str | None

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


def moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def timeline(saga: dict) -> tuple[list[StepRow], float]:
    """The saga's steps in the order it recorded them, and its run in ms (first start to
    last end)."""
    steps = saga.get("steps") or []
    starts = [t for s in steps if (t := moment(s.get("started_at")))]
    ends = [t for s in steps if (t := moment(s.get("finished_at") or s.get("started_at")))]
    first = min(starts, default=None)
    total = (max(ends) - first).total_seconds() if first and ends else 0.0
    rows = []
    for s in steps:
        start, end = moment(s.get("started_at")), moment(s.get("finished_at"))
        ms = (end - start).total_seconds() * 1000 if start and end else None
        x = width = 0
        if first is not None and start is not None:
            x = int((start - first).total_seconds() / total * SCALE) if total else 0
            x = min(x, SCALE - 2)
            span = ((end - start).total_seconds() / total * SCALE) if end and total else 0
            width = min(max(2, round(span)), SCALE - x)
        rows.append(StepRow(s["name"], s["name"] in COMPENSATIONS,
                            STATES.get(s.get("state", ""), s.get("state", "?")),
                            int(s.get("attempts") or 0), int(s.get("failures") or 0),
                            s.get("started_at"), s.get("finished_at"), ms, x, width,
                            s.get("detail")))
    return rows, total * 1000


def best_trace(items: list[dict]) -> dict | None:
    """The trace to draw for an order: the one its placement started (root ``POST
    /api/v1/orders...``), else the one with the most spans."""
    placed = [t for t in items if str(t.get("root_name", "")).startswith("POST /api/v1/orders")]
    pool = placed or items
    return max(pool, key=lambda t: t.get("span_count", 0), default=None)

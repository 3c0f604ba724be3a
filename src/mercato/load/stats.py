"""The figures of a load run: counters and latency samples, and their percentiles.

No I/O and no clock: the shopper tells what happened (a request's name, status or
exception, its latency; an order's fate), ``snapshot`` turns it into the plain dict that
the live display, the final table and ``--json`` all show. Latencies are in seconds here
and in milliseconds in the snapshot.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

PLACE = "POST /api/v1/orders"
TO_CONFIRMED = "placed to confirmed"  # from sending the POST to seeing it confirmed
SESSION = "session"  # from the session's intended start to its end
START_LAG = "start lag"  # how late a session started after its intended time
# How long a session waited for a customer of the pool (each shops one session at a time):
# part of the session's time, shown apart so a pool too small for the load is seen.
CUSTOMER_WAIT = "customer wait"
CONFIRMED = frozenset({"confirmed", "shipped", "delivered"})
TIMED = (PLACE, TO_CONFIRMED, SESSION, START_LAG, CUSTOMER_WAIT)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when there are none."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def error_kind(status: int | None = None, exc: BaseException | None = None) -> str:
    """How an error is counted: 429 is "rate-limited", another status its number, an
    exception its class name (a timeout is "TimeoutError")."""
    if exc is not None:
        return type(exc).__name__
    if status == 429:
        return "rate-limited"
    return str(status)


@dataclass
class Stats:
    requests: int = 0
    ok_requests: int = 0
    errors: Counter = field(default_factory=Counter)  # kind -> count
    sessions: Counter = field(default_factory=Counter)  # started, completed, failed, dropped
    placed: int = 0
    confirmed: int = 0
    cancelled: Counter = field(default_factory=Counter)  # reason -> count
    pending: int = 0  # still pending when the shopper stopped following
    cancel_refused: int = 0  # our cancel came too late (409): the order had moved on
    in_flight: int = 0
    samples: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in TIMED})
    # Each followed order: (POST sent, seen terminal or None if still pending), on the
    # shopper's clock — what ``mercato chaos`` measures convergence after a fault from.
    timeline: list[tuple[float, float | None]] = field(default_factory=list)

    # -- what the shopper reports -----------------------------------------------------
    def request(self, name: str, seconds: float, status: int | None = None,
                exc: BaseException | None = None, ok: bool = True) -> None:
        """One request: its latency, and an error unless ``ok``. A failed request's time
        counts in the percentiles too (a 503 or a timeout is what the shopper waited for:
        leaving it out would flatter an overloaded platform)."""
        self.requests += 1
        if ok:
            self.ok_requests += 1
        else:
            self.errors[error_kind(status, exc)] += 1
        if name in self.samples:
            self.samples[name].append(seconds)

    def sample(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def order_ended(self, status: str, reason: str | None, seconds: float) -> None:
        """An order seen in a terminal state ``seconds`` after its POST was sent."""
        if status in CONFIRMED:
            self.confirmed += 1
            self.sample(TO_CONFIRMED, seconds)
        elif status == "cancelled":
            self.cancelled[reason or "unknown"] += 1

    def followed(self, sent: float, ended: float | None) -> None:
        """An order's times on the shopper's clock: sent, and when it was seen terminal
        (None: still pending when the shopper stopped following)."""
        self.timeline.append((sent, ended))

    # -- what everyone reads ------------------------------------------------------------
    def snapshot(self, elapsed: float) -> dict:
        latency = {}
        for name, values in self.samples.items():
            latency[name] = {"count": len(values)} | {
                f"p{q}": _ms(percentile(values, q)) for q in (50, 95, 99)}
        return {
            "elapsed_s": round(elapsed, 3),
            "requests": self.requests,
            "ok_requests": self.ok_requests,
            "requests_per_s": round(self.requests / elapsed, 2) if elapsed > 0 else 0.0,
            "errors": dict(sorted(self.errors.items())),
            "error_count": sum(self.errors.values()),
            "sessions": {k: self.sessions.get(k, 0) for k in
                         ("started", "completed", "failed", "dropped", "unfinished")}
            | {"in_flight": self.in_flight},
            "orders": {
                "placed": self.placed, "confirmed": self.confirmed,
                "cancelled": dict(sorted(self.cancelled.items())),
                "cancelled_total": sum(self.cancelled.values()),
                "pending": self.pending, "cancel_refused": self.cancel_refused,
            },
            "latency_ms": latency,
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)

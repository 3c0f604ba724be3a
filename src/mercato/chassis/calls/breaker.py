"""A circuit breaker per upstream service: closed, open, half-open with a few probes.

Closed: calls pass; ``failures`` consecutive failed calls open it. Open: calls fail at once
(the caller answers 503 with ``Retry-After``) for ``open_for`` seconds. Half-open: up to
``probes`` calls at a time go through as probes; ``probes`` successes in a row close it,
any failure opens it again. A call that was admitted before the breaker opened and ends
later does not count as a probe.

What counts as a failure is the caller's decision (see ``resilience.py``: a call to which
no instance answered at all — refused, dropped or timed out).

Hand-written because none of the libraries fits (checked 2025): pybreaker has no released
asyncio support (Tornado only) and admits every call in half-open; aiobreaker has had no
release since 2021; purgatory runs every call through an async message bus and lets every
half-open call through; circuitbreaker (fabfuel) lets every half-open call through and keeps
a global registry. None takes an injectable clock. The state machine is forty lines.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int = 5, open_for: float = 5.0,
                 probes: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.threshold = max(1, failures)
        self.open_for = open_for
        self.probes = max(1, probes)
        self._clock = clock
        self._state = CLOSED
        self.failures = 0  # consecutive, while closed
        self._opened_at = 0.0
        self._probing = 0  # probes in flight
        self._probe_successes = 0
        self._round = 0  # which half-open period a probe belongs to
        self.times_opened = 0
        self.rejected = 0

    @property
    def state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.open_for:
            self._state, self._probing, self._probe_successes = HALF_OPEN, 0, 0
            self._round += 1
        return self._state

    def admit(self) -> int | None:
        """None: refused (open, or every probe slot taken). Otherwise the call goes ahead
        with a ticket for ``record``: 0 for a plain call, a positive number for a probe."""
        if self._state == CLOSED:  # the hot path: one comparison
            return 0
        if self.state == HALF_OPEN and self._probing < self.probes:
            self._probing += 1
            return self._round
        self.rejected += 1
        return None

    def record(self, ticket: int, ok: bool | None) -> None:
        """The end of an admitted call: ok True/False, or None for "no verdict" (cancelled,
        or nothing was sent), which only frees a probe slot."""
        if ticket:
            if self._state != HALF_OPEN or ticket != self._round:
                return  # a probe of an earlier half-open period
            self._probing -= 1
            if ok is None:
                return
            if not ok:
                self._open()
                return
            self._probe_successes += 1
            if self._probe_successes >= self.probes:
                self._state, self.failures = CLOSED, 0
            return
        if self._state != CLOSED or ok is None:
            return  # a call from before the breaker opened: it is no probe
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self._open()

    def retry_after(self) -> int:
        """Whole seconds until probes are let through (at least 1)."""
        left = self._opened_at + self.open_for - self._clock()
        return max(1, math.ceil(left))

    def snapshot(self) -> dict:
        state = self.state
        return {
            "state": state, "consecutive_failures": self.failures,
            "failure_threshold": self.threshold, "open_for_s": self.open_for,
            "retry_in_s": round(max(0.0, self._opened_at + self.open_for - self._clock()), 3)
            if state == OPEN else 0.0,
            "probes_in_flight": self._probing if state == HALF_OPEN else 0,
            "probe_successes": self._probe_successes if state == HALF_OPEN else 0,
            "probes_needed": self.probes, "times_opened": self.times_opened,
            "rejected": self.rejected,
        }

    def _open(self) -> None:
        self._state, self._opened_at = OPEN, self._clock()
        self._probing = self._probe_successes = 0
        self.times_opened += 1

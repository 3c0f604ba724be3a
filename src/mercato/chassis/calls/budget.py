"""A retry budget per downstream service: retries may add at most ``ratio`` of the calls
made over the last ``window`` seconds, plus ``min_per_second`` so that a quiet service can
still retry.

Retrying every failure multiplies the load on a service that is already failing (three
attempts per call at each of two layers is nine times the traffic). A budget keeps the
retries that help — a lost connection now and then — and stops the retry storm: when the
budget is spent, a failed attempt is the call's answer.

Hand-written: tenacity and stamina bound the attempts of one call, not the retries of all
calls together; the budget (as in Finagle and Linkerd) is two ring buffers of per-second
counters, cheap enough to update on every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RetryBudget:
    def __init__(self, *, ratio: float = 0.2, min_per_second: float = 5.0,
                 window: int = 10, clock: Callable[[], float] = time.monotonic) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window = max(1, int(window))
        self._clock = clock
        self._seconds = [-1] * self.window  # which second each slot counts
        self._calls = [0] * self.window
        self._retries = [0] * self.window
        self.refused = 0

    def _slot(self) -> int:
        second = int(self._clock())
        slot = second % self.window
        if self._seconds[slot] != second:
            self._seconds[slot], self._calls[slot], self._retries[slot] = second, 0, 0
        return slot

    def deposit(self) -> None:
        """One call made (its first attempt)."""
        self._calls[self._slot()] += 1

    def withdraw(self) -> bool:
        """May one more retry be sent? If so it is counted."""
        slot = self._slot()
        calls, retries = self._totals()
        if retries >= self.ratio * calls + self.min_per_second * self.window:
            self.refused += 1
            return False
        self._retries[slot] += 1
        return True

    def _totals(self) -> tuple[int, int]:
        oldest = int(self._clock()) - self.window + 1
        calls = retries = 0
        for i, second in enumerate(self._seconds):
            if second >= oldest:
                calls += self._calls[i]
                retries += self._retries[i]
        return calls, retries

    def snapshot(self) -> dict:
        calls, retries = self._totals()
        return {"calls": calls, "retries": retries, "window_s": self.window,
                "ratio": self.ratio, "min_per_second": self.min_per_second,
                "refused": self.refused}

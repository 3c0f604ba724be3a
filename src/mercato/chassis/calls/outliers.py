"""Outlier ejection: an instance that keeps failing is left out of balancing for a while.

After ``eject_after`` consecutive failed attempts (no answer — refused, dropped, timed out —
or a 5xx answer) an instance is ejected for ``eject_for`` seconds. Then it comes back on
probation: one more failure ejects it again at once, one success clears its record. The
registry drops an instance that stops heartbeating within its TTL; ejection reacts within
a handful of calls, and also catches an instance that is registered and ready but answers
errors (its database broken, say) while its siblings work.

Hand-written, with the in-flight counts the balancer compares: both are per-instance
counters updated on every attempt, which no library keeps for a caller-owned pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mercato.chassis.calls.registry import Instance

MAX_TRACKED = 512  # instances come and go (ids are new per start): forget idle ones past this


@dataclass(slots=True)
class InstanceStats:
    service: str
    instance_id: str
    outstanding: int = 0
    failures: int = 0
    ejected_until: float = 0.0
    ejections: int = 0


class Outliers:
    def __init__(self, eject_after: int, eject_for: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.eject_after = max(1, eject_after)
        self.eject_for = eject_for
        self._clock = clock
        self._stats: dict[str, InstanceStats] = {}
        self._ejected_count = 0  # instances with an ejection on record: 0 skips the scan

    def stats(self, instance: Instance) -> InstanceStats:
        found = self._stats.get(instance.instance_id)
        if found is None:
            if len(self._stats) >= MAX_TRACKED:
                self._forget_idle()
            found = self._stats[instance.instance_id] = InstanceStats(instance.service,
                                                                       instance.instance_id)
        return found

    def outstanding(self, instance: Instance) -> int:
        found = self._stats.get(instance.instance_id)
        return found.outstanding if found is not None else 0

    def admitted(self, ready: list[Instance]) -> list[Instance]:
        """The instances of ``ready`` that are not ejected now (in the same order)."""
        if not self._ejected_count:
            return ready
        now = self._clock()
        return [i for i in ready if not self._ejected(i.instance_id, now)]

    def record(self, stats: InstanceStats, failed: bool) -> None:
        if not failed:
            stats.failures = 0
            return
        stats.failures += 1
        if stats.failures >= self.eject_after and stats.ejected_until <= self._clock():
            if not stats.ejected_until:
                self._ejected_count += 1
            stats.ejected_until = self._clock() + self.eject_for
            stats.ejections += 1

    def snapshot(self, service: str) -> list[dict]:
        now = self._clock()
        return [{
            "instance_id": s.instance_id, "outstanding": s.outstanding,
            "consecutive_failures": s.failures,
            "ejected": s.ejected_until > now,
            "ejected_for_s": round(max(0.0, s.ejected_until - now), 3),
            "ejections": s.ejections,
        } for s in self._stats.values() if s.service == service]

    def _ejected(self, instance_id: str, now: float) -> bool:
        stats = self._stats.get(instance_id)
        if stats is None or not stats.ejected_until:
            return False
        if stats.ejected_until > now:
            return True
        # back from its cool-down, on probation: the next failure ejects it again
        stats.ejected_until = 0.0
        self._ejected_count -= 1
        stats.failures = self.eject_after - 1
        return False

    def _forget_idle(self) -> None:
        for key in [k for k, s in self._stats.items() if s.outstanding == 0]:
            if self._stats.pop(key).ejected_until:
                self._ejected_count -= 1

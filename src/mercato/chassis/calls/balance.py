"""Which instance to try first, shared by the service client and the gateway so both balance
the same way: round robin, random, least outstanding requests, or power of two choices
(the default) — chosen by ``MERCATO_BALANCER``. During a deployment the view's routing
policy (``routing.py``) first narrows the ready instances to the versions the call may use.

Only ready instances are candidates, and of those only the ones not ejected as outliers
(``outliers.py``); when every ready instance is ejected they are all used again (a
"panic" rather than an outage). The caller reports each attempt — ``started`` before the
send, ``finished`` after the reply — which keeps the real in-flight count per instance that
least-outstanding and p2c compare, and feeds the outlier detector.

Hand-written: client-side balancing over our own registry view is a few lines per strategy,
and no maintained Python library balances over a caller-supplied list with caller-kept
in-flight counts (the ones that exist are tied to their own HTTP client or service mesh).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable

from mercato.chassis.calls.outliers import InstanceStats, Outliers
from mercato.chassis.calls.registry import Instance, RegistryView

STRATEGIES = ("p2c", "round_robin", "random", "least_outstanding")


class Balancer:
    """Orders the ready instances of a service for one call: the chosen one first, the
    others after it (for retries)."""

    def __init__(
        self,
        view: RegistryView,
        strategy: str = "p2c",
        *,
        eject_after: int = 5,
        eject_for: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown balancer {strategy!r}; one of {', '.join(STRATEGIES)}")
        self.strategy = strategy
        self._view = view
        self._rng = rng or random.Random()
        self._turns: dict[str, itertools.count] = {}
        self.outliers = Outliers(eject_after, eject_for, clock)
        self._pick = {"p2c": self._p2c, "round_robin": self._round_robin,
                      "random": self._random, "least_outstanding": self._least}[strategy]

    def order(self, service: str) -> list[Instance]:
        """The candidates for one call, best first; empty when none is ready."""
        ready = self._view.ready(service)
        routing = getattr(self._view, "routing", None)  # deployments: versions allowed
        if routing is not None:
            ready = routing.eligible(service, ready)
        if len(ready) <= 1:
            return ready
        pool = self.outliers.admitted(ready) or ready
        if len(pool) == 1:
            return pool
        first = self._pick(service, pool)
        return pool[first:] + pool[:first]

    def started(self, instance: Instance) -> InstanceStats:
        """An attempt is being sent to ``instance``; pass the result to ``finished``."""
        stats = self.outliers.stats(instance)
        stats.outstanding += 1
        return stats

    def finished(self, stats: InstanceStats, failed: bool | None) -> None:
        """The attempt ended: ``failed`` when there was no answer or a 5xx answer; None
        when it says nothing about the instance (the caller gave up)."""
        stats.outstanding -= 1
        if failed is not None:
            self.outliers.record(stats, failed)

    # -- strategies: each returns the index in ``pool`` of the instance to try first --

    def _round_robin(self, service: str, pool: list[Instance]) -> int:
        return next(self._turns.setdefault(service, itertools.count())) % len(pool)

    def _random(self, _service: str, pool: list[Instance]) -> int:
        return self._rng.randrange(len(pool))

    def _p2c(self, _service: str, pool: list[Instance]) -> int:
        """Two distinct instances at random; the one with fewer requests in flight wins."""
        n = len(pool)
        a = self._rng.randrange(n)
        b = self._rng.randrange(n - 1)
        if b >= a:
            b += 1
        load = self.outliers.outstanding
        return b if load(pool[b]) < load(pool[a]) else a

    def _least(self, service: str, pool: list[Instance]) -> int:
        """The fewest in flight; ties go round robin, so an idle service spreads its calls."""
        n = len(pool)
        start = next(self._turns.setdefault(service, itertools.count())) % n
        load = self.outliers.outstanding
        best, best_load = start, load(pool[start])
        for step in range(1, n):
            i = (start + step) % n
            current = load(pool[i])
            if current < best_load:
                best, best_load = i, current
        return best

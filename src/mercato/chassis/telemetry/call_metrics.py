"""The resilience of calls to other services, read at scrape time: breaker states,
bulkheads, retries and exhausted retry budgets, per upstream service and per scope (the
gateway's proxy and its own client are two scopes; a service has one, ``client``).

A custom collector over the process's live ``Resilience`` objects (chassis/calls), so the
hot path of a call pays nothing for metrics: the breaker, bulkhead and budget already keep
these numbers, and a scrape reads them. Each ``Resilience`` is ``watch``ed when it is built;
the collector joins the default registry then, not at import. Objects of one scope that
call the same service (several clients in one test process) are summed, and the worst
breaker state is shown, so no series is ever reported twice.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

LABELS = ["mercato_upstream_service", "mercato_call_scope"]
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}

_watched: weakref.WeakSet = weakref.WeakSet()
_registered = False


def watch(resilience: Any) -> None:
    """Report ``resilience`` (a ``chassis.calls.Resilience``) on this process's
    ``/metrics`` for as long as it lives."""
    global _registered
    _watched.add(resilience)
    if not _registered:
        REGISTRY.register(CallCollector(lambda: list(_watched)))
        _registered = True


class CallCollector(Collector):
    """``sources()`` gives the ``Resilience`` objects to read at each scrape."""

    def __init__(self, sources: Callable[[], Iterable[Any]]) -> None:
        self.sources = sources

    def describe(self):
        return _families()

    def collect(self):
        state: dict[tuple, int] = {}
        in_flight: dict[tuple, int] = {}
        exhausted: dict[tuple, int] = {}
        retries: dict[tuple, int] = {}
        for resilience in self.sources():
            for service, guard in list(resilience._guards.items()):
                key = (service, resilience.scope)
                value = BREAKER_VALUES[guard.breaker.state]
                state[key] = max(state.get(key, 0), value)
                in_flight[key] = in_flight.get(key, 0) + guard.bulkhead.in_flight
                exhausted[key] = exhausted.get(key, 0) + guard.budget.refused
                for reason, n in list(guard.retries.items()):
                    retries[(*key, reason)] = retries.get((*key, reason), 0) + n
        families = _families()
        for family, values in zip(families, (state, in_flight, retries, exhausted),
                                  strict=True):
            for labels, value in sorted(values.items()):
                family.add_metric(list(labels), value)
        return families


def _families() -> list:
    return [
        GaugeMetricFamily("mercato_breaker_state", "Circuit breaker of calls to an upstream "
                          "service: 0 closed, 1 half-open, 2 open", labels=LABELS),
        GaugeMetricFamily("mercato_bulkhead_in_flight", "Calls to an upstream service in "
                          "flight (its bulkhead refuses past its limit)", labels=LABELS),
        CounterMetricFamily("mercato_retries", "Retries sent to an upstream service, by how "
                            "the attempt before failed (refused, timeout, error, status)",
                            labels=[*LABELS, "mercato_retry_reason"]),
        CounterMetricFamily("mercato_retry_budget_exhausted", "Retries not sent because the "
                            "upstream service's retry budget was spent", labels=LABELS),
    ]

"""Which instance to try first: round robin over the ready instances of a service, shared
by the service client and the gateway so both balance the same way (the strategies of
issue 5 — least outstanding, power of two choices — will live here)."""

from __future__ import annotations

import itertools

from mercato.chassis.calls.registry import Instance, RegistryView


class RoundRobin:
    def __init__(self, view: RegistryView) -> None:
        self._view = view
        self._counters: dict[str, itertools.count] = {}

    def order(self, service: str) -> list[Instance]:
        """The ready instances of ``service``, starting at the next one in turn (the rest
        follow, for retries); empty when none is ready."""
        ready = sorted(self._view.ready(service), key=lambda i: i.instance_id)
        if not ready:
            return []
        start = next(self._counters.setdefault(service, itertools.count())) % len(ready)
        return ready[start:] + ready[:start]

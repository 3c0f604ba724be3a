"""A bulkhead per downstream service: at most ``limit`` calls to it in flight at once.

A call over the limit is refused at once — the caller answers 503 — instead of queueing:
when one dependency is slow its calls pile up to the limit and no further, so they cannot
take every connection, socket and coroutine of the process and slow the calls to the other
services down with them.

Hand-written: ``asyncio.Semaphore`` queues waiters, and refusing without waiting needs
``locked()`` plus ``acquire()`` — a counter says the same in two lines and costs less on
every call.
"""

from __future__ import annotations


class Bulkhead:
    __slots__ = ("in_flight", "limit", "name", "peak", "rejected")

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = max(1, limit)
        self.in_flight = 0
        self.peak = 0
        self.rejected = 0

    def try_enter(self) -> bool:
        """Take a slot; False (and nothing taken) when all ``limit`` are in use."""
        if self.in_flight >= self.limit:
            self.rejected += 1
            return False
        self.in_flight += 1
        if self.in_flight > self.peak:
            self.peak = self.in_flight
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    def snapshot(self) -> dict:
        return {"in_flight": self.in_flight, "limit": self.limit, "peak": self.peak,
                "rejected": self.rejected}

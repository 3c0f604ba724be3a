"""Seams for time and identifiers, so tests can control them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new opaque identifier (UUID4 text)."""
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    """ISO-8601 text for a timestamp, as the API shows it."""
    return moment.isoformat().replace("+00:00", "Z")



class RecentMinimum:
    """The smallest value seen in the last one to two ``window`` seconds — a clock offset
    estimated as the least "arrived minus sent" over recent messages (the quickest one
    took the transit alone). Old samples age out, so a clock that stepped (an NTP step, a
    VM resumed, a broker leader on another host) is followed within two windows, and a
    new estimate is never one sample taken in the middle of a backlog."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.last = float("-inf")  # when the newest sample came (``now`` of ``add``)
        self._previous: float | None = None
        self._current: float | None = None
        self._since = float("-inf")

    def add(self, value: float, now: float) -> float:
        """Take a sample at ``now`` (a monotonic time); the estimate after it."""
        if now - self._since >= self.window:  # a new window; the last one is kept
            self._previous = self._current if now - self._since < 2 * self.window else None
            self._current, self._since = value, now
        else:
            self._current = min(value, self._current if self._current is not None else value)
        self.last = now
        return self.value

    @property
    def value(self) -> float:
        """The estimate: +inf before any sample."""
        seen = [v for v in (self._previous, self._current) if v is not None]
        return min(seen) if seen else float("inf")

"""Clocks for handlers that take ``clock: Callable[[], datetime]``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class StepClock:
    """A clock that moves a fixed step (one second, unless told) per reading, so orderings
    by time are stable and every reading is distinct."""

    def __init__(self, start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
                 step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


class ManualClock:
    """A clock that only moves when told to; starts at ``start``, or at the real now (for
    tokens that a verifier checks against the wall clock)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

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


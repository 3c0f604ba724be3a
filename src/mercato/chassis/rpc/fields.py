"""A gRPC message's fields checked as an HTTP route's schema checks its body: proto3 has
no required fields or bounds, so a servicer states them here; a broken one is
``InvalidInput`` (422 ``invalid-request``) naming the field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from mercato.chassis.errors import InvalidInput

T = TypeVar("T")


def text(value: str, name: str, *, max_length: int = 100, pattern: str | None = None
         ) -> str:
    """A non-empty string of at most ``max_length`` characters (an id, a code) that
    matches ``pattern`` if one is given."""
    if not value or not value.strip():
        raise InvalidInput(f"{name}: must not be empty", field=name)
    if len(value) > max_length:
        raise InvalidInput(f"{name}: at most {max_length} characters", field=name)
    if pattern is not None and not re.search(pattern, value):
        raise InvalidInput(f"{name}: must match {pattern}", field=name)
    return value


def number(value: int, name: str, *, low: int, high: int) -> int:
    """An integer from ``low`` to ``high``, both included."""
    if not low <= value <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}", field=name)
    return value


def some(values: Sequence[T], name: str, *, most: int) -> Sequence[T]:
    """Between one and ``most`` entries."""
    if not 1 <= len(values) <= most:
        raise InvalidInput(f"{name}: between 1 and {most} entries", field=name)
    return values

"""Predictable ids for handlers that take ``new_id: Callable[[], str]``."""

from __future__ import annotations

import itertools
from collections.abc import Callable


def sequential_ids() -> Callable[[], str]:
    """UUID-shaped ids numbered from 1: 00000000-0000-4000-8000-000000000001, ..."""
    counter = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"

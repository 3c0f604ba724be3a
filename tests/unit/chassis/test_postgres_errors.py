"""How the PostgreSQL adapter names its driver's errors for everyone above it: a full disk
is ``DatabaseFull`` (a 503 naming ``disk-full``, as SQLite's SQLITE_FULL), a deadlock
``DatabaseDeadlock`` (retryable, but not healing by itself), a unique violation
``Conflict``."""

from __future__ import annotations

import asyncpg
import pytest

from mercato.chassis.data.db import Conflict, DatabaseDeadlock, DatabaseFull
from mercato.chassis.data.postgres import _translated


@pytest.mark.parametrize(("raised", "named", "cause", "heals"), [
    (asyncpg.DiskFullError("could not extend file: No space left on device"),
     DatabaseFull, "disk-full", True),
    (asyncpg.DeadlockDetectedError("deadlock detected"), DatabaseDeadlock, "deadlock",
     False),
])
def test_driver_errors_become_the_chassis_refusals(raised, named, cause, heals):
    with pytest.raises(named) as caught, _translated():
        raise raised
    assert (caught.value.cause, caught.value.heals_itself) == (cause, heals)


def test_a_unique_violation_is_a_conflict():
    with pytest.raises(Conflict), _translated():
        raise asyncpg.UniqueViolationError("duplicate key value")

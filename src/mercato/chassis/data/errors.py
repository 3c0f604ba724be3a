"""What the database seam raises, whichever adapter: services catch these, never a
driver's error. ``DatabaseUnavailable`` and its kinds carry a short ``cause`` the web and
RPC layers name in their 503 (the operator and the client see *why*, not just "try again").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class DatabaseUnavailable(Exception):
    """The database did not answer: unreachable, its connection lost, or no answer in time.
    Nothing of the transaction it broke is kept; the request may be tried again (the web
    layer answers 503 with Retry-After, naming ``cause``)."""

    cause = "unavailable"
    public = "the service's database did not answer"
    # Whether it says nothing of the work that met it (an unreachable, locked or full
    # database heals by itself): a consumer then retries a message however often and
    # never dead-letters it for this (chassis/messaging/consumer.py).
    heals_itself = True


class DatabaseBusy(DatabaseUnavailable, sqlite3.OperationalError):
    """Another process held the database's lock for longer than the busy timeout."""

    cause = "locked"
    public = "the service's database is locked by another writer"


class DatabaseFull(DatabaseUnavailable, sqlite3.OperationalError):
    """The disk under the database is full: the write was refused and rolled back; reads
    still work. Writes work again once space is freed."""

    cause = "disk-full"
    public = "the service's database has no disk space left for writes"


class DatabaseDeadlock(DatabaseUnavailable):
    """PostgreSQL ended the transaction to break a deadlock (a lock-order bug): retryable,
    but work that deadlocks every time is a poison message and may be dead-lettered."""

    cause = "deadlock"
    public = "the service's database ended the transaction to break a deadlock"
    heals_itself = False


class Conflict(Exception):
    """A write clashed with a unique key or primary key already stored.

    Every adapter raises it for its driver's unique violation, so services catch this and
    never a driver's error. On PostgreSQL a failed statement spoils the transaction it is
    in: a caller that goes on after a ``Conflict`` runs the statement in ``tx.savepoint()``.
    """


class TransactionLost(RuntimeError):
    """The transaction itself is gone (the database rolled it back or the connection
    broke), so a savepoint cannot be rolled back to: nothing of it will commit."""


def unique_violation(exc: sqlite3.IntegrityError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code in (sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
    return "UNIQUE constraint failed" in str(exc)


def is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "database or disk is full" in str(exc)


def full_error(exc: sqlite3.Error, path: Path) -> DatabaseFull:
    return DatabaseFull(f"{path.name}: the disk is full ({exc})")


def is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY  # SQLITE_BUSY and its extended codes
    return "database is locked" in str(exc)

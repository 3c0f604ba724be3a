"""The database seam: a small async interface with a SQLite adapter.

Why not SQLAlchemy async on the hot path: measured on this machine
(``benchmarks/bench_db_path.py``), SQLAlchemy async over aiosqlite commits small
transactions many times slower than ``sqlite3`` itself, and a SQLite transaction of a few
statements takes tens of microseconds, less than a thread hand-off. So the SQLite adapter
runs ``sqlite3`` directly on the event loop, one connection per process, and an
``asyncio.Lock`` keeps one transaction at a time so no two coroutines interleave in it.
SQLAlchemy and Alembic still own the schema (see ``migrations.py``).

Several processes may share one file (replicas of a service, ``mercato up --replicas``).
SQLite's own busy handler would then sleep *on the event loop* while another process holds
the write lock, stalling every request of this process; so the connection has no busy
timeout, and a statement that meets a locked database is retried after an ``asyncio.sleep``
(see ``_when_free``), up to ``busy_timeout_ms``, then fails with ``DatabaseBusy``. While a
transaction waits to begin, the connection is free: reads and other transactions of this
process go on (a lock held for long by another process must not queue them all behind it).
A write that finds the disk full fails with ``DatabaseFull``; SQLite has rolled it back.

SQL is written with ``?`` placeholders in the common subset of SQLite and PostgreSQL so a
PostgreSQL adapter can implement the same ``Database`` protocol.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from mercato.chassis.data.errors import (
    Conflict,
    DatabaseBusy,
    DatabaseDeadlock,
    DatabaseFull,
    DatabaseUnavailable,
    TransactionLost,
    full_error,
    is_busy,
    is_full,
    unique_violation,
)
from mercato.chassis.telemetry import (
    ERROR,
    SpanKind,
    attach,
    detach,
    recording,
    start_span,
    tracer,
)

__all__ = ["Conflict", "Connection", "Database", "DatabaseBusy", "DatabaseDeadlock",
           "DatabaseFull", "DatabaseUnavailable", "Row", "SqliteDatabase", "TransactionLost"]

Row = dict[str, Any]
T = TypeVar("T")
FIRST_WAIT = 0.001  # seconds; doubled per attempt up to LONGEST_WAIT
LONGEST_WAIT = 0.025
_tracer = tracer("mercato.db")


class Connection(Protocol):
    """One transaction: statements, a hook for after its commit, named locks, savepoints."""

    after_commit: list[Callable[[], None]]

    def on_commit(self, callback: Callable[[], None]) -> None: ...
    async def lock(self, key: str) -> None: ...
    def savepoint(self, name: str = "attempt") -> Any: ...  # async cm
    async def execute(self, sql: str, *params: Any) -> int: ...
    async def fetch_one(self, sql: str, *params: Any) -> Row | None: ...
    async def fetch_all(self, sql: str, *params: Any) -> list[Row]: ...
    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class Database(Protocol):
    """A service's database (SQLite or PostgreSQL): transactions, reads outside one, a
    liveness ping. ``transaction()`` is an async context manager yielding a ``Connection``."""

    def transaction(self, *, traced: bool = True) -> Any: ...  # async cm -> Connection
    async def fetch_one(self, sql: str, *params: Any) -> Row | None: ...
    async def fetch_all(self, sql: str, *params: Any) -> list[Row]: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


class _SqliteConnection:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self.after_commit: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (not if it rolls back)."""
        self.after_commit.append(callback)

    async def lock(self, key: str) -> None:
        """Hold the named critical section ``key`` until this transaction ends.

        Handlers call it where a read decides a write and two writers must not interleave
        (docs/production.md). Nothing to do here: ``BEGIN IMMEDIATE`` already holds
        SQLite's one write lock for the whole transaction, across processes."""

    @asynccontextmanager
    async def savepoint(self, name: str = "attempt") -> AsyncIterator[None]:
        """Undo only this block's writes if it raises; the transaction goes on."""
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException as exc:
            try:
                self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self._conn.execute(f"RELEASE SAVEPOINT {name}")
            except sqlite3.Error as lost:
                raise TransactionLost(f"rolling back to {name}: {lost}") from exc
            raise
        self._conn.execute(f"RELEASE SAVEPOINT {name}")

    async def execute(self, sql: str, *params: Any) -> int:
        try:
            return self._conn.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            if unique_violation(exc):
                raise Conflict(str(exc)) from exc
            raise
        except sqlite3.OperationalError as exc:
            if is_full(exc):
                raise full_error(exc, self._path) from exc
            raise

    async def fetch_one(self, sql: str, *params: Any) -> Row | None:
        return self._conn.execute(sql, params).fetchone()

    async def fetch_all(self, sql: str, *params: Any) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            if unique_violation(exc):
                raise Conflict(str(exc)) from exc
            raise
        except sqlite3.OperationalError as exc:
            if is_full(exc):
                raise full_error(exc, self._path) from exc
            raise


_WRAPPERS = frozenset({"__aenter__", "transaction", "unit"})


def _opener() -> str:
    """The function that opened the transaction: the first frame above this one that is
    neither a context manager's ``__aenter__`` nor a store's own ``transaction``/``unit``
    wrapper (those would name every transaction of a service alike)."""
    frame = sys._getframe(2)  # 0: here, 1: ``transaction``
    while frame.f_back is not None and frame.f_code.co_name in _WRAPPERS:
        frame = frame.f_back
    return frame.f_code.co_qualname


@asynccontextmanager
async def _traced(transaction: AbstractAsyncContextManager[T], caller: str, system: str,
                  namespace: str) -> AsyncIterator[T]:
    """``transaction`` inside a span of its own named after ``caller`` (every adapter's)."""
    span = start_span(_tracer, f"transaction {caller}", None, SpanKind.CLIENT, {
        "db.system.name": system, "db.namespace": namespace, "code.function.name": caller})
    token = attach(span)
    try:
        async with transaction as tx:
            yield tx
    except BaseException as exc:
        span.set_status(ERROR, f"rolled back: {type(exc).__name__}")
        raise
    finally:
        span.end()
        detach(token)


class SqliteDatabase:
    """One service's SQLite file in WAL mode, used from one event loop (other processes
    may use the same file: waits for their locks are asynchronous)."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000):
        self.path = path
        self.busy_timeout = busy_timeout_ms / 1000
        self.busy_retries = 0  # statements that met another process's lock and were retried
        # Setting up may wait in SQLite's busy handler (switching to WAL can meet another
        # instance doing the same): nothing is served yet. Afterwards nothing waits there.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=self.busy_timeout)
        self._conn.row_factory = _dict_row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode keeps the database consistent after a process crash (only
        # an OS crash or power loss may drop the last commits); FULL also syncs each one.
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=0")
        self._lock = asyncio.Lock()
        self._tx = _SqliteConnection(self._conn, path)

    async def _when_free(self, statement: Callable[[], T]) -> T:
        """Run ``statement`` holding this process's connection lock; while another process
        holds the database lock it needs, retry it after short asynchronous sleeps
        (doubling, with jitter so two waiting processes do not retry in step) until
        ``busy_timeout`` has passed, then raise ``DatabaseBusy``. The connection lock is
        held only while trying, not while sleeping, so others of this process go on; on
        success it is still held (the caller releases it).

        Why by hand: the uncontended case must cost nothing over the bare call (a
        transaction takes tens of microseconds here), and a retry library would wrap every
        call; this loop only starts once SQLite has said busy.
        """
        deadline = None
        wait = FIRST_WAIT
        while True:
            await self._lock.acquire()
            try:
                return statement()
            except sqlite3.OperationalError as exc:
                self._lock.release()
                if is_full(exc):
                    raise full_error(exc, self.path) from exc
                if not is_busy(exc):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.busy_timeout
                if now >= deadline:
                    raise DatabaseBusy(
                        f"{self.path.name} stayed locked by another process for "
                        f"{self.busy_timeout:.1f}s ({exc})") from exc
            except BaseException:
                self._lock.release()
                raise
            self.busy_retries += 1
            await asyncio.sleep(wait * random.uniform(0.5, 1.0))
            wait = min(wait * 2, LONGEST_WAIT)

    async def _free(self, statement: Callable[[], T]) -> T:
        """``statement`` as ``_when_free`` runs it, the connection lock released after
        (``_when_free`` has released it already if it raised)."""
        value = await self._when_free(statement)
        self._lock.release()
        return value

    @asynccontextmanager
    async def transaction(self, *, traced: bool = True) -> AsyncIterator[_SqliteConnection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises. BEGIN IMMEDIATE
        takes the write lock up front, so the statements inside never meet a busy lock.

        Inside a recording span, the transaction is a span of its own (waiting for the
        lock included) named after the function that opened it; never the SQL. Not with
        ``traced=False``: a transaction whose caller's span already says it all (a
        consumer's, around one message's handler)."""
        if not traced or not recording():
            async with self._transaction() as tx:
                yield tx
            return
        async with _traced(self._transaction(), _opener(), "sqlite", self.path.stem) as tx:
            yield tx

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_SqliteConnection]:
        await self._when_free(lambda: self._conn.execute("BEGIN IMMEDIATE"))  # lock held
        try:
            self._tx.after_commit = []
            try:
                yield self._tx
                self._commit()
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            callbacks, self._tx.after_commit = self._tx.after_commit, []
        finally:
            self._lock.release()
        for callback in callbacks:
            callback()

    def _commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if is_full(exc):
                raise full_error(exc, self.path) from exc
            raise

    async def fetch_one(self, sql: str, *params: Any) -> Row | None:
        return await self._free(lambda: self._conn.execute(sql, params).fetchone())

    async def fetch_all(self, sql: str, *params: Any) -> list[Row]:
        return await self._free(lambda: self._conn.execute(sql, params).fetchall())

    async def ping(self) -> None:
        await self.fetch_one("SELECT 1 AS ok")

    async def close(self) -> None:
        self._conn.close()

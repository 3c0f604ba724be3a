"""The database seam: a small async interface with a SQLite adapter.

Why not SQLAlchemy async on the hot path: measured on this machine
(``benchmarks/bench_db_path.py``), SQLAlchemy async over aiosqlite commits small
transactions many times slower than ``sqlite3`` itself, and a SQLite transaction of a few
statements takes tens of microseconds, less than a thread hand-off. So the SQLite adapter
runs ``sqlite3`` directly on the event loop, one connection per process, and an
``asyncio.Lock`` keeps one transaction at a time so no two coroutines interleave in it.
SQLAlchemy and Alembic still own the schema (see ``migrations.py``).

SQL is written with ``?`` placeholders in the common subset of SQLite and PostgreSQL so a
PostgreSQL adapter can implement the same ``Database`` protocol.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

Row = dict[str, Any]


class Connection(Protocol):
    def on_commit(self, callback: Callable[[], None]) -> None: ...
    async def execute(self, sql: str, *params: Any) -> int: ...
    async def fetch_one(self, sql: str, *params: Any) -> Row | None: ...
    async def fetch_all(self, sql: str, *params: Any) -> list[Row]: ...
    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class Database(Protocol):
    def transaction(self) -> Any: ...  # async context manager yielding a Connection
    async def fetch_one(self, sql: str, *params: Any) -> Row | None: ...
    async def fetch_all(self, sql: str, *params: Any) -> list[Row]: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


class _SqliteConnection:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.after_commit: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (not if it rolls back)."""
        self.after_commit.append(callback)

    async def execute(self, sql: str, *params: Any) -> int:
        return self._conn.execute(sql, params).rowcount

    async def fetch_one(self, sql: str, *params: Any) -> Row | None:
        return self._conn.execute(sql, params).fetchone()

    async def fetch_all(self, sql: str, *params: Any) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


class SqliteDatabase:
    """One service's SQLite file in WAL mode, used from one event loop."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000):
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = _dict_row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode keeps the database consistent after a process crash (only
        # an OS crash or power loss may drop the last commits); FULL also syncs each one.
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._lock = asyncio.Lock()
        self._tx = _SqliteConnection(self._conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteConnection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises."""
        async with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._tx.after_commit = []
            try:
                yield self._tx
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            callbacks, self._tx.after_commit = self._tx.after_commit, []
        for callback in callbacks:
            callback()

    async def fetch_one(self, sql: str, *params: Any) -> Row | None:
        async with self._lock:
            return self._conn.execute(sql, params).fetchone()

    async def fetch_all(self, sql: str, *params: Any) -> list[Row]:
        async with self._lock:
            return self._conn.execute(sql, params).fetchall()

    async def ping(self) -> None:
        await self.fetch_one("SELECT 1 AS ok")

    async def close(self) -> None:
        self._conn.close()

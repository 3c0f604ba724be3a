"""The PostgreSQL adapter of the ``Database`` seam, on asyncpg (docs/production.md §1).

**READ COMMITTED plus explicit locks.** Where SQLite relies on its one writer and a read
decides a write, handlers name the critical section: ``tx.lock(key)``
(``pg_advisory_xact_lock(hashtextextended(key, 0))``, held to the transaction's end) or
``SELECT ... FOR UPDATE``. Not SERIALIZABLE: each handler would retry its serialization
failures, which pile up on the checkout's few hot rows (a popular product's stock) under
load; a lock makes contention a wait, not an abort, and names in the code where it is.

**Pool.** One per process, 1 to 10 connections by default; a transaction holds one from
BEGIN to COMMIT, so ``max_size`` bounds the process's concurrent transactions (more wait)
and replicas × ``max_size`` must stay under the server's ``max_connections``. No reset
query on release (a round trip per transaction saved): no session state is set, advisory
locks end with their transaction. Connections that died idle (a server restart) are
replaced at BEGIN or a read outside a transaction (not once it has begun).

**Placeholders.** ``?`` become ``$1..$n`` outside literals, quoted identifiers and comments,
once per statement text (LRU cache); asyncpg's prepared-statement cache stays on.

**Values.** str, int, float, bytes and None come back as they went in. ``SUM`` of a BIGINT
and ``AVG`` are NUMERIC, ``Decimal`` in asyncpg where SQLite gives int and float: a codec
makes an integral NUMERIC an int and any other a float, so the same SQL needs no cast per
query. No column is NUMERIC (money is integer minor units) to lose decimals through float.

**Errors.** ``UniqueViolationError`` becomes ``Conflict`` (from any statement), no other SQL
error is translated. A lost connection (also in asyncpg's misleading forms mid-transaction:
"released back to the pool", "cannot switch to state"), a server that cannot be reached,
a statement with no answer within ``command_timeout`` and a closed pool are the chassis'
``DatabaseUnavailable`` (a 503 at the web layer), chained from asyncpg's error.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.exceptions import InternalClientError

from mercato.chassis.data.db import (
    Conflict,
    DatabaseDeadlock,
    DatabaseFull,
    DatabaseUnavailable,
    Row,
    TransactionLost,
    _opener,
    _traced,
)
from mercato.chassis.telemetry import recording

_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, InternalClientError)
_UNREACHABLE = (*_LOST, OSError, TimeoutError)
_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?""", re.S)


@functools.lru_cache(maxsize=2048)
def dollar_placeholders(sql: str) -> str:
    """``sql`` with each ``?`` placeholder numbered ``$1, $2, ...`` in order; a ``?`` inside
    a '...' literal, a "..." identifier or a comment is left alone."""
    numbers = itertools.count(1)
    return _TOKENS.sub(lambda m: f"${next(numbers)}" if m[0] == "?" else m[0], sql)


def _rowcount(status: str) -> int:  # "UPDATE 3", "INSERT 0 1": the last number, or 0
    return int(last) if (last := status.rpartition(" ")[2]).isdigit() else 0


def _numeric(text: str) -> int | float:  # NUMERIC's text: "12", "-1.50", "NaN"
    return int(text) if text.lstrip("-").isdigit() else float(text)


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", schema="pg_catalog", encoder=str, decoder=_numeric,
                              format="text")


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to reset: the adapter leaves no session state (see the module docstring)."""


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """``Conflict`` for a unique violation; ``DatabaseUnavailable`` for a database that did
    not answer (module docstring)."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(str(exc)) from exc
    except asyncpg.DeadlockDetectedError as exc:  # a lock-order bug: logged, retryable
        raise DatabaseDeadlock(f"PostgreSQL ended this transaction to break a deadlock, "
                               f"nothing of it was kept: {exc}") from exc
    except asyncpg.DiskFullError as exc:  # SQLSTATE 53100: as SQLite's SQLITE_FULL
        raise DatabaseFull(f"PostgreSQL has no disk space left: {exc}") from exc
    except _UNREACHABLE as exc:
        raise DatabaseUnavailable(f"PostgreSQL did not answer: {exc or type(exc).__name__}"
                                  ) from exc


class PostgresConnection:
    """One transaction on one pooled connection (the chassis ``Connection`` protocol)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.after_commit: list[Callable[[], None]] = []

    async def _call(self, method: str, sql: str, *args: Any) -> Any:
        with _translated():
            return await getattr(self._conn, method)(dollar_placeholders(sql), *args)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (not if it rolls back)."""
        self.after_commit.append(callback)

    async def lock(self, key: str) -> None:
        """Hold the named critical section ``key`` until this transaction ends (a
        transaction-scoped advisory lock on a 64-bit hash of the name)."""
        await self._call("execute", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)

    @contextlib.asynccontextmanager
    async def savepoint(self, name: str = "attempt") -> AsyncIterator[None]:
        """Undo only this block's writes if it raises; the transaction goes on. If even the
        rollback to the savepoint fails, the transaction is gone: ``TransactionLost``."""
        await self._call("execute", f"SAVEPOINT {name}")
        try:
            yield
        except BaseException as exc:
            try:
                await self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
            except Exception as lost:  # whatever it is, the transaction cannot go on
                raise TransactionLost(f"rolling back to {name}: {lost}") from exc
            raise
        await self._call("execute", f"RELEASE SAVEPOINT {name}")

    async def execute(self, sql: str, *params: Any) -> int:
        """Run one statement; the number of rows it wrote (or returned)."""
        return _rowcount(await self._call("execute", sql, *params))

    async def fetch_one(self, sql: str, *params: Any) -> Row | None:
        """The first row as a dict, or None."""
        row = await self._call("fetchrow", sql, *params)
        return None if row is None else dict(row)

    async def fetch_all(self, sql: str, *params: Any) -> list[Row]:
        """Every row, as dicts."""
        return [dict(row) for row in await self._call("fetch", sql, *params)]

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per parameter row (pipelined by asyncpg)."""
        await self._call("executemany", sql, rows)


class PostgresDatabase:
    """One service's PostgreSQL database through a pool of this process's connections."""

    def __init__(self, pool: asyncpg.Pool, name: str) -> None:
        self._pool = pool
        self.name = name

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10,
                   connect_timeout: float = 10.0,
                   command_timeout: float | None = None) -> PostgresDatabase:
        """A pool on the database ``url`` names (which must exist: ``ensure_database``).
        ``command_timeout``: seconds a statement may go unanswered (a hung network) before
        it fails with ``DatabaseUnavailable``; None, no limit."""
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                         init=_init, reset=_no_reset, timeout=connect_timeout,
                                         command_timeout=command_timeout)
        try:
            name = await pool.fetchval("SELECT current_database()")
        except BaseException:
            await pool.close()
            raise
        return cls(pool, name)

    @contextlib.asynccontextmanager
    async def transaction(self, *, traced: bool = True) -> AsyncIterator[PostgresConnection]:
        """BEGIN (READ COMMITTED) ... COMMIT on a pooled connection, ROLLBACK if the block
        raises; after-commit callbacks run once committed. Traced as SQLite's are."""
        if not traced or not recording():
            async with self._transaction() as tx:
                yield tx
            return
        async with _traced(self._transaction(), _opener(), "postgresql", self.name) as tx:
            yield tx

    async def _begun(self) -> Any:
        for spare in range(self._pool.get_max_size(), -1, -1):
            with _translated():
                conn = await self._pool.acquire()
            try:
                await conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
                return conn
            except BaseException as exc:
                await self._pool.release(conn)
                if not spare or not isinstance(exc, _LOST):
                    with _translated():
                        raise  # else it died idle in the pool, which connects a new one

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[PostgresConnection]:
        conn = await self._begun()
        tx = PostgresConnection(conn)
        try:
            yield tx
            with _translated():
                await conn.execute("COMMIT")
        except BaseException:
            try:
                await conn.execute("ROLLBACK")
            except Exception:  # the block's error is the news; the pool replaces this one
                with contextlib.suppress(Exception):
                    conn.terminate()  # (raises if asyncpg has released it already)
            raise
        finally:
            await self._pool.release(conn)
        for callback in tx.after_commit:
            callback()

    async def _read(self, method: str, sql: str, params: Sequence[Any]) -> Any:
        for spare in range(self._pool.get_max_size(), -1, -1):
            try:
                with _translated():
                    return await getattr(self._pool, method)(dollar_placeholders(sql), *params)
            except DatabaseUnavailable as exc:
                if not spare or not isinstance(exc.__cause__, _LOST):
                    raise  # else it died idle in the pool, which connects a new one

    async def fetch_one(self, sql: str, *params: Any) -> Row | None:
        """The first row as a dict, or None (outside any transaction)."""
        row = await self._read("fetchrow", sql, params)
        return None if row is None else dict(row)

    async def fetch_all(self, sql: str, *params: Any) -> list[Row]:
        """Every row, as dicts (outside any transaction)."""
        return [dict(row) for row in await self._read("fetch", sql, params)]

    async def ping(self) -> None:
        """Raise unless the server answers a query."""
        await self._read("fetchval", "SELECT 1", ())

    async def close(self) -> None:
        """Close every connection of the pool (waiting for those in use)."""
        await self._pool.close()


def service_database_url(url: str, service: str) -> str:
    """``url`` itself if it names a database, else with the database ``mercato_<service>``."""
    parts = urlsplit(url)
    if parts.path not in ("", "/"):
        return url
    return urlunsplit(parts._replace(path=f"/mercato_{service}"))


async def ensure_database(server_url: str, name: str) -> None:
    """Create the database ``name`` on ``server_url``'s server unless it exists (or races),
    comparing text byte by byte as SQLite does (keyset cursors, text times sort alike)."""
    admin = await asyncpg.connect(urlunsplit(urlsplit(server_url)._replace(path="/postgres")))
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return
        with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            await admin.execute('CREATE DATABASE "{}" TEMPLATE template0 LC_COLLATE "C"'
                                .format(name.replace('"', '""')))
    finally:
        await admin.close()

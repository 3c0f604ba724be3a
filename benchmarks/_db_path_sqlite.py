"""bench_db_path's schema and its SQLite variants: sqlite3 on the loop, in a thread, through
aiosqlite and through SQLAlchemy (async and sync Core), each opened fresh for a round on a
copy of the seeded template database."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import create_async_engine

SEED_ROWS = 10_000
PAYLOAD = "x" * 100


# --------------------------------------------------------------------------- schema

SQLITE_DDL = [
    "CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, created REAL NOT NULL)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
]
SQL_INSERT = "INSERT INTO items (payload, created) VALUES (?, ?)"
SQL_BUMP = "UPDATE counters SET value = value + 1 WHERE name = 'items'"
SQL_GET = "SELECT id, payload, created FROM items WHERE id = ?"


def core_tables(prefix: str = "") -> tuple[Table, Table]:
    """The items and counters tables as SQLAlchemy Core tables (names behind `prefix`)."""
    md = MetaData()
    items = Table(
        f"{prefix}items",
        md,
        Column("id", Integer, primary_key=True),
        Column("payload", Text, nullable=False),
        Column("created", Float, nullable=False),
    )
    counters = Table(
        f"{prefix}counters",
        md,
        Column("name", Text, primary_key=True),
        Column("value", Integer, nullable=False),
    )
    return items, counters


class CoreStatements:
    """SQLAlchemy Core statements built once, as a repository would."""

    def __init__(self, prefix: str = "") -> None:
        self.items, self.counters = core_tables(prefix)
        self.insert = insert(self.items)
        self.bump = (
            update(self.counters)
            .where(self.counters.c.name == "items")
            .values(value=self.counters.c.value + 1)
        )
        self.get = select(self.items).where(self.items.c.id == bindparam("pk"))


# --------------------------------------------------------------------------- variants


class Variant:
    """One way of talking to the database; opened fresh for every round."""

    async def write(self) -> None: ...
    async def read(self, pk: int) -> None: ...
    async def close(self) -> None: ...


def sqlite_connect(path: str, synchronous: str, *, any_thread: bool = False) -> sqlite3.Connection:
    """A sqlite3 connection in WAL mode with the given synchronous setting."""
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, exactly once each.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=not any_thread)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def sqlite_write_tx(conn: sqlite3.Connection) -> None:
    """One write transaction: INSERT 1 row + UPDATE 1 counter + COMMIT."""
    conn.execute("BEGIN")
    conn.execute(SQL_INSERT, (PAYLOAD, time.time()))
    conn.execute(SQL_BUMP)
    conn.execute("COMMIT")


def sqlite_read(conn: sqlite3.Connection, pk: int) -> None:
    """One read: SELECT a row by primary key."""
    conn.execute(SQL_GET, (pk,)).fetchone()


class SqliteOnLoop(Variant):
    """(a) sqlite3 called directly on the event loop."""
    def __init__(self, path: str, synchronous: str) -> None:
        self.conn = sqlite_connect(path, synchronous)

    async def write(self) -> None:
        sqlite_write_tx(self.conn)
        await asyncio.sleep(0)  # a handler returns to the loop between requests

    async def read(self, pk: int) -> None:
        sqlite_read(self.conn, pk)
        await asyncio.sleep(0)

    async def close(self) -> None:
        self.conn.close()


class SqliteToThread(Variant):
    """(b) sqlite3 through asyncio.to_thread (the default executor)."""
    def __init__(self, path: str) -> None:
        self.conn = sqlite_connect(path, "NORMAL", any_thread=True)

    async def write(self) -> None:
        await asyncio.to_thread(sqlite_write_tx, self.conn)

    async def read(self, pk: int) -> None:
        await asyncio.to_thread(sqlite_read, self.conn, pk)

    async def close(self) -> None:
        self.conn.close()


class SqliteOneThread(Variant):
    """(b) sqlite3 through a dedicated single-thread executor."""
    def __init__(self, path: str) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        # The connection is created, used and closed on the executor's only thread.
        self.conn = self.pool.submit(sqlite_connect, path, "NORMAL").result()
        self.loop = asyncio.get_running_loop()

    async def write(self) -> None:
        await self.loop.run_in_executor(self.pool, sqlite_write_tx, self.conn)

    async def read(self, pk: int) -> None:
        await self.loop.run_in_executor(self.pool, sqlite_read, self.conn, pk)

    async def close(self) -> None:
        self.pool.submit(self.conn.close).result()
        self.pool.shutdown()


class AiosqliteDirect(Variant):
    """Not one of the platform's candidates: shows what (c) costs before SQLAlchemy."""

    @classmethod
    async def open(cls, path: str) -> AiosqliteDirect:
        import aiosqlite

        self = cls()
        self.db = await aiosqlite.connect(path, isolation_level=None)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        return self

    async def write(self) -> None:
        await self.db.execute("BEGIN")
        await self.db.execute(SQL_INSERT, (PAYLOAD, time.time()))
        await self.db.execute(SQL_BUMP)
        await self.db.execute("COMMIT")

    async def read(self, pk: int) -> None:
        async with self.db.execute(SQL_GET, (pk,)) as cur:
            await cur.fetchone()

    async def close(self) -> None:
        await self.db.close()


def _pragmas_on_connect(synchronous: str) -> Callable:
    def set_pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    return set_pragmas


class SqlaAsyncSqlite(Variant):
    """(c) SQLAlchemy 2 async Core + aiosqlite."""
    def __init__(self, path: str) -> None:
        self.engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        event.listen(self.engine.sync_engine, "connect", _pragmas_on_connect("NORMAL"))
        self.st = CoreStatements()

    async def write(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(self.st.insert, {"payload": PAYLOAD, "created": time.time()})
            await conn.execute(self.st.bump)

    async def read(self, pk: int) -> None:
        async with self.engine.connect() as conn:
            (await conn.execute(self.st.get, {"pk": pk})).first()

    async def close(self) -> None:
        await self.engine.dispose()


class SqlaSyncOnLoop(Variant):
    """(d) SQLAlchemy 2 sync Core engine called on the event loop."""
    def __init__(self, path: str) -> None:
        self.engine = create_engine(f"sqlite:///{path}")
        event.listen(self.engine, "connect", _pragmas_on_connect("NORMAL"))
        self.st = CoreStatements()

    async def write(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.st.insert, {"payload": PAYLOAD, "created": time.time()})
            conn.execute(self.st.bump)
        await asyncio.sleep(0)

    async def read(self, pk: int) -> None:
        with self.engine.connect() as conn:
            conn.execute(self.st.get, {"pk": pk}).first()
        await asyncio.sleep(0)

    async def close(self) -> None:
        self.engine.dispose()


def make_sqlite_template(path: str) -> None:
    """The seeded SQLite database every round starts from a copy of."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for ddl in SQLITE_DDL:
        conn.execute(ddl)
    conn.execute("BEGIN")
    conn.executemany(SQL_INSERT, [(PAYLOAD, 0.0)] * SEED_ROWS)
    conn.execute("INSERT INTO counters VALUES ('items', 0)")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


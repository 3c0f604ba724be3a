"""bench_db_path's PostgreSQL variants (asyncpg on one connection, through its pool, and
SQLAlchemy async + asyncpg) and the tables they use, made and dropped by the run."""

from __future__ import annotations

import os
import time

from _db_path_sqlite import PAYLOAD, SEED_ROWS, CoreStatements, SqlaAsyncSqlite, Variant
from sqlalchemy.ext.asyncio import create_async_engine

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_PREFIX = f"bench_{os.getpid()}_"


class AsyncpgConn(Variant):
    """asyncpg on one connection (the PostgreSQL baseline)."""
    @classmethod
    async def open(cls) -> AsyncpgConn:
        import asyncpg

        self = cls()
        self.conn = await asyncpg.connect(PG_DSN)
        return self

    async def _tx(self, conn) -> None:
        async with conn.transaction():
            await conn.execute(
                f"INSERT INTO {PG_PREFIX}items (payload, created) VALUES ($1, $2)",
                PAYLOAD,
                time.time(),
            )
            await conn.execute(
                f"UPDATE {PG_PREFIX}counters SET value = value + 1 WHERE name = 'items'"
            )

    async def write(self) -> None:
        await self._tx(self.conn)

    async def read(self, pk: int) -> None:
        await self.conn.fetchrow(
            f"SELECT id, payload, created FROM {PG_PREFIX}items WHERE id = $1", pk
        )

    async def close(self) -> None:
        await self.conn.close()


class AsyncpgPool(AsyncpgConn):
    """asyncpg, a connection acquired from its pool for every operation."""
    @classmethod
    async def open(cls) -> AsyncpgPool:
        import asyncpg

        self = cls()
        self.pool = await asyncpg.create_pool(PG_DSN, min_size=1, max_size=5)
        return self

    async def write(self) -> None:
        async with self.pool.acquire() as conn:
            await self._tx(conn)

    async def read(self, pk: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.fetchrow(
                f"SELECT id, payload, created FROM {PG_PREFIX}items WHERE id = $1", pk
            )

    async def close(self) -> None:
        await self.pool.close()


class SqlaAsyncPg(Variant):
    """SQLAlchemy 2 async Core + asyncpg (the same statements as (c))."""
    @classmethod
    async def open(cls) -> SqlaAsyncPg:
        self = cls()
        self.engine = create_async_engine(
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test", pool_size=5
        )
        self.st = CoreStatements(PG_PREFIX)
        return self

    write = SqlaAsyncSqlite.write
    read = SqlaAsyncSqlite.read
    close = SqlaAsyncSqlite.close


async def pg_reachable() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_DSN, timeout=3)
        await conn.close()
        return None
    except Exception as exc:  # any failure means "skip the section"
        return f"{type(exc).__name__}: {exc}"


async def pg_setup() -> None:
    """Create and seed this run's tables (named after its pid)."""
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(
            f"CREATE TABLE {PG_PREFIX}items (id SERIAL PRIMARY KEY, payload TEXT NOT NULL,"
            " created DOUBLE PRECISION NOT NULL)"
        )
        await conn.execute(
            f"CREATE TABLE {PG_PREFIX}counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        )
        await conn.copy_records_to_table(
            f"{PG_PREFIX}items",
            records=[(PAYLOAD, 0.0)] * SEED_ROWS,
            columns=["payload", "created"],
        )
        await conn.execute(f"INSERT INTO {PG_PREFIX}counters VALUES ('items', 0)")
        await conn.execute(f"ANALYZE {PG_PREFIX}items")
    finally:
        await conn.close()


async def pg_teardown() -> None:
    """Drop this run's tables."""
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {PG_PREFIX}items, {PG_PREFIX}counters")
    finally:
        await conn.close()


"""Benchmark: which database path should an asyncio service use?

Measures small write transactions (insert one row + bump one counter row, commit)
and small reads (select one row by primary key) through several paths:

SQLite, one file per run in WAL mode in a temp dir:
  (a) sqlite3 called directly on the event loop, synchronous=NORMAL  <- baseline
  (a) the same with synchronous=FULL
  (b) sqlite3 through asyncio.to_thread (default executor)
  (b) sqlite3 through a dedicated single-thread executor
  (c) SQLAlchemy 2 async Core + aiosqlite (`async with engine.begin()`)
      and, for reference, aiosqlite alone (where (c)'s cost comes from)
  (d) SQLAlchemy 2 sync Core engine called on the event loop

PostgreSQL at 127.0.0.1:5432 (user postgres, database test, trust auth), if reachable:
  asyncpg on one connection (baseline), asyncpg through its pool,
  SQLAlchemy 2 async Core + asyncpg.

One coroutine issues operations one after another (concurrency 1), yielding to the
loop between operations like a request handler would; a transaction is one unit of
work (for the thread paths: one hop to the thread per transaction). A ticker task
measures how late the event loop wakes it up while writes run ("loop lag"): work done
on the loop shows up there, work done off the loop does not.

Each variant runs --rounds times, interleaved with the others, each on a fresh copy
of a seeded database; the table reports the median of the rounds.

Run:  python benchmarks/bench_db_path.py            (about 50 s)
      python benchmarks/bench_db_path.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy
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
LAG_TICK_S = 0.002


def load_average() -> str:
    """1-minute load average, printed with results: the machine is shared and noisy."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


# --------------------------------------------------------------------------- schema

SQLITE_DDL = [
    "CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, created REAL NOT NULL)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
]
SQL_INSERT = "INSERT INTO items (payload, created) VALUES (?, ?)"
SQL_BUMP = "UPDATE counters SET value = value + 1 WHERE name = 'items'"
SQL_GET = "SELECT id, payload, created FROM items WHERE id = ?"


def core_tables(prefix: str = "") -> tuple[Table, Table]:
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
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, exactly once each.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=not any_thread)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def sqlite_write_tx(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute(SQL_INSERT, (PAYLOAD, time.time()))
    conn.execute(SQL_BUMP)
    conn.execute("COMMIT")


def sqlite_read(conn: sqlite3.Connection, pk: int) -> None:
    conn.execute(SQL_GET, (pk,)).fetchone()


class SqliteOnLoop(Variant):
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
    def __init__(self, path: str) -> None:
        self.conn = sqlite_connect(path, "NORMAL", any_thread=True)

    async def write(self) -> None:
        await asyncio.to_thread(sqlite_write_tx, self.conn)

    async def read(self, pk: int) -> None:
        await asyncio.to_thread(sqlite_read, self.conn, pk)

    async def close(self) -> None:
        self.conn.close()


class SqliteOneThread(Variant):
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


PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_PREFIX = f"bench_{os.getpid()}_"


class AsyncpgConn(Variant):
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


# --------------------------------------------------------------------------- setup


def make_sqlite_template(path: str) -> None:
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
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {PG_PREFIX}items, {PG_PREFIX}counters")
    finally:
        await conn.close()


# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    writes_per_s: float
    reads_per_s: float
    lag_p99_ms: float


@dataclass
class Result:
    label: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples)

    def spread(self, attr: str) -> float:
        """(max - min) / median over the rounds: how noisy this number was."""
        values = [getattr(s, attr) for s in self.samples]
        return (max(values) - min(values)) / statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def lag_ticker(out: list[float]) -> None:
    while True:
        start = time.perf_counter()
        await asyncio.sleep(LAG_TICK_S)
        out.append(time.perf_counter() - start - LAG_TICK_S)


async def timed(op: Callable[[], Awaitable[None]], seconds: float) -> float:
    """Run op back to back for `seconds`; return operations per second."""
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        await op()
        n += 1
        now = time.perf_counter()
    return n / (now - start)


async def measure(variant: Variant, seconds: float, warmup: float, rng: random.Random) -> Sample:
    def read_pk():
        return variant.read(rng.randint(1, SEED_ROWS))
    await timed(variant.write, warmup)
    await timed(read_pk, warmup)

    lags: list[float] = []
    ticker = asyncio.create_task(lag_ticker(lags))
    try:
        writes = await timed(variant.write, seconds)
    finally:
        ticker.cancel()
    reads = await timed(read_pk, seconds)
    return Sample(writes, reads, percentile(lags, 0.99) * 1000)


SQLITE_VARIANTS: list[tuple[str, Callable[[str], Variant | Awaitable[Variant]]]] = [
    ("(a) sqlite3 on loop, sync=NORMAL", lambda p: SqliteOnLoop(p, "NORMAL")),
    ("(a) sqlite3 on loop, sync=FULL", lambda p: SqliteOnLoop(p, "FULL")),
    ("(b) sqlite3 via asyncio.to_thread", SqliteToThread),
    ("(b) sqlite3 via 1-thread executor", SqliteOneThread),
    ("(c) SQLAlchemy async + aiosqlite", SqlaAsyncSqlite),
    ("    for reference: aiosqlite directly", AiosqliteDirect.open),
    ("(d) SQLAlchemy sync Core on loop", SqlaSyncOnLoop),
]

PG_VARIANTS: list[tuple[str, Callable[[], Awaitable[Variant]]]] = [
    ("asyncpg, one connection", AsyncpgConn.open),
    ("asyncpg, pool acquire per op", AsyncpgPool.open),
    ("SQLAlchemy async + asyncpg", SqlaAsyncPg.open),
]


async def run_sqlite(args, rng: random.Random, progress) -> list[Result]:
    results = [Result(label) for label, _ in SQLITE_VARIANTS]
    with tempfile.TemporaryDirectory(prefix="bench_db_") as tmp:
        template = os.path.join(tmp, "template.db")
        make_sqlite_template(template)
        for rnd in range(args.rounds):
            for i, (label, factory) in enumerate(SQLITE_VARIANTS):
                path = os.path.join(tmp, f"run_{rnd}_{i}.db")
                shutil.copyfile(template, path)
                variant = factory(path)
                if inspect.isawaitable(variant):
                    variant = await variant
                try:
                    results[i].samples.append(
                        await measure(variant, args.seconds, args.warmup, rng)
                    )
                finally:
                    await variant.close()
                progress(f"sqlite round {rnd + 1}/{args.rounds}: {label}")
    return results


async def run_pg(args, rng: random.Random, progress) -> list[Result]:
    results = [Result(label) for label, _ in PG_VARIANTS]
    await pg_setup()
    try:
        for rnd in range(args.rounds):
            for i, (label, opener) in enumerate(PG_VARIANTS):
                variant = await opener()
                try:
                    results[i].samples.append(
                        await measure(variant, args.seconds, args.warmup, rng)
                    )
                finally:
                    await variant.close()
                progress(f"postgres round {rnd + 1}/{args.rounds}: {label}")
    finally:
        await pg_teardown()
    return results


# --------------------------------------------------------------------------- report


def print_table(console, title: str, results: list[Result], baseline_note: str) -> None:
    from rich.table import Table as RichTable

    base = results[0]
    bw, br = base.median("writes_per_s"), base.median("reads_per_s")
    caption = (
        f"x base = ratio vs {baseline_note}. spread = (max-min)/median over rounds. "
        "loop lag p99 = how late a 2 ms loop timer fired while writes ran."
    )
    table = RichTable(title=title, caption=caption, title_justify="left", caption_justify="left")
    table.add_column("variant")
    for head in ("tx/s", "x base", "reads/s", "x base", "spread tx/rd", "loop lag p99"):
        table.add_column(head, justify="right")
    for r in results:
        w, rd = r.median("writes_per_s"), r.median("reads_per_s")
        table.add_row(
            r.label,
            f"{w:,.0f}",
            f"{w / bw:.2f}",
            f"{rd:,.0f}",
            f"{rd / br:.2f}",
            f"{r.spread('writes_per_s'):.0%}/{r.spread('reads_per_s'):.0%}",
            f"{r.median('lag_p99_ms'):.2f} ms",
        )
    console.print(table)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Compare database access paths for asyncio services "
        "(SQLite WAL paths, optional PostgreSQL paths). Reports medians over rounds "
        "and ratios against a baseline measured in the same run.",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=0.4,
        help="timed seconds per variant, per operation kind, per round (default 0.4)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=0.1,
        help="untimed seconds per variant and operation kind before timing (default 0.1)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds per variant, interleaved; the median is reported (default 5)",
    )
    p.add_argument(
        "--loop",
        choices=["uvloop", "asyncio"],
        default="uvloop",
        help="event loop implementation (default uvloop, as the services run)",
    )
    p.add_argument(
        "--no-postgres",
        action="store_true",
        help="skip the PostgreSQL section even if 127.0.0.1:5432 is reachable",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for read keys (default 1)")
    return p.parse_args(argv)


async def main_async(args: argparse.Namespace, console) -> None:
    rng = random.Random(args.seed)
    def progress(msg):
        return print(f"  .. {msg}", file=sys.stderr, flush=True)
    console.print(
        f"bench_db_path  python {platform.python_version()}  sqlite {sqlite3.sqlite_version}  "
        f"SQLAlchemy {sqlalchemy.__version__}  loop={args.loop}  cpus={os.cpu_count()}  "
        f"loadavg at start={load_average()}\n"
        f"seconds={args.seconds} warmup={args.warmup} rounds={args.rounds}  concurrency=1  "
        f"write tx = INSERT 1 row + UPDATE 1 counter + COMMIT; read = SELECT by primary key"
    )
    try:
        await report(args, console, rng, progress)
    finally:
        console.print(f"loadavg at end={load_average()}")


async def report(args, console, rng: random.Random, progress) -> None:
    sqlite_results = await run_sqlite(args, rng, progress)
    print_table(
        console,
        "SQLite, WAL, file in temp dir (median of rounds)",
        sqlite_results,
        "(a) sqlite3 on loop, sync=NORMAL; synchronous=NORMAL unless stated",
    )
    if args.no_postgres:
        console.print("PostgreSQL section skipped (--no-postgres).")
        return
    reason = await pg_reachable()
    if reason is not None:
        console.print(f"PostgreSQL section skipped: 127.0.0.1:5432 unreachable ({reason}).")
        return
    pg_results = await run_pg(args, rng, progress)
    print_table(
        console,
        "PostgreSQL 127.0.0.1:5432 (median of rounds)",
        pg_results,
        "asyncpg, one connection",
    )


def main(argv: list[str] | None = None) -> None:
    from rich.console import Console

    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=110)
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(main_async(args, console))
    else:
        asyncio.run(main_async(args, console))


if __name__ == "__main__":
    main()

"""Benchmark: the chassis' two Database adapters, SQLite against PostgreSQL.

The same code through the ``Database`` seam (chassis/data): a small write transaction
(insert one row + bump one of 100 counter rows, commit) one at a time and from 8
concurrent tasks, and a read by primary key outside a transaction, one at a time.

Variants:
  sqlite                  SqliteDatabase as shipped (WAL, synchronous=NORMAL)  <- baseline
  sqlite FULL             the same with synchronous=FULL (an fsync per commit)
  postgresql              PostgresDatabase as shipped (pool of 10, no reset on release)
  postgresql +reset       asyncpg's default reset query on each release (what the adapter
                          saves)
  postgresql async commit synchronous_commit=off: no WAL flush wait per commit (durability
                          closer to SQLite's NORMAL; a server crash may lose the last ones)

PostgreSQL is the machine's server at 127.0.0.1:5432 (trust auth), a database made for the
run and dropped after. Each variant runs --rounds times, interleaved with the others; the
table gives the median of the rounds and the ratio against the baseline.

Run:  .venv/bin/python benchmarks/bench_db_backends.py         (about 60 s)
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from _load import load_average

from mercato.chassis.data import PostgresDatabase, SqliteDatabase, ensure_database
from mercato.chassis.data.postgres import _init, _no_reset

SERVER = "postgresql://postgres@127.0.0.1:5432/"
SCHEMA = ("CREATE TABLE events (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
          "CREATE TABLE counters (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")
COUNTERS = 100


async def open_postgres(url: str, *, reset: bool = False, settings: dict | None = None):
    if not reset and not settings:
        return await PostgresDatabase.open(url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=10, init=_init,
                                     reset=None if reset else _no_reset,
                                     server_settings=settings or {})
    return PostgresDatabase(pool, url.rsplit("/", 1)[1])


async def prepare(db) -> None:
    async with db.transaction() as tx:
        for sql in SCHEMA:
            await tx.execute(sql)
        await tx.execute_many("INSERT INTO counters (id, n) VALUES (?, 0)",
                              [(i,) for i in range(COUNTERS)])


async def write(db) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO events (id, body) VALUES (?, ?)", uuid.uuid4().hex, "x" * 100)
        await tx.execute("UPDATE counters SET n = n + 1 WHERE id = ?", random.randrange(COUNTERS))


async def read(db) -> None:
    await db.fetch_one("SELECT id, n FROM counters WHERE id = ?", random.randrange(COUNTERS))


async def per_op_us(op: Callable[[object], Awaitable[None]], db, n: int) -> tuple[float, float]:
    """Wall and this process's CPU µs per operation."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await op(db)
    return (time.perf_counter() - start) / n * 1e6, (time.process_time() - cpu) / n * 1e6


async def per_second(db, n: int, tasks: int) -> float:
    async def worker() -> None:
        for _ in range(n // tasks):
            await write(db)
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return n // tasks * tasks / (time.perf_counter() - start)


async def main(args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench_db_backends_"))
    name = f"bench_db_backends_{uuid.uuid4().hex[:10]}"
    await ensure_database(SERVER, name)
    url = SERVER + name
    dbs = {}
    try:
        dbs["sqlite"] = SqliteDatabase(folder / "normal.db")
        dbs["sqlite FULL"] = SqliteDatabase(folder / "full.db", synchronous="FULL")
        dbs["postgresql"] = await open_postgres(url)
        # the two below use the same tables as "postgresql"
        dbs["postgresql +reset"] = await open_postgres(url, reset=True)
        dbs["postgresql async commit"] = await open_postgres(
            url, settings={"synchronous_commit": "off"})
        for label in ("sqlite", "sqlite FULL", "postgresql"):
            await prepare(dbs[label])
        results: dict[str, dict[str, list[float]]] = {k: {} for k in dbs}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
            for label, db in random.sample(list(dbs.items()), len(dbs)):
                got = results[label]
                wall, cpu = await per_op_us(write, db, args.n)
                got.setdefault("write", []).append(wall)
                got.setdefault("cpu", []).append(cpu)
                got.setdefault("write x8", []).append(await per_second(db, args.n * 2, 8))
                got.setdefault("read", []).append((await per_op_us(read, db, args.n))[0])
        report(results, args)
    finally:
        for db in dbs.values():
            await db.close()
        admin = await asyncpg.connect(SERVER + "postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def report(results: dict[str, dict[str, list[float]]], args) -> None:
    print(f"\n{platform.python_version()}, {args.rounds} rounds of {args.n} ops, "
          f"loadavg {load_average()}")
    columns = [("write", "µs/tx 1 at a time"), ("cpu", "client CPU µs/tx"),
               ("write x8", "tx/s 8 tasks"), ("read", "µs/read")]
    base = {k: statistics.median(results["sqlite"][k]) for k, _ in columns}
    print(f"{'variant':<24}" + "".join(f"{title:>18}{'ratio':>8}" for _, title in columns))
    for label, got in results.items():
        row = f"{label:<24}"
        for key, _title in columns:
            value = statistics.median(got[key])
            row += f"{value:>18.1f}{value / base[key]:>7.2f}×"
        print(row)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=1000, help="operations per measurement")
    asyncio.run(main(parser.parse_args()))

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

The variants live beside it: _db_path_sqlite.py (the schema, the SQLite paths, the seeded
template) and _db_path_postgres.py (the PostgreSQL paths and their tables).
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
from dataclasses import dataclass, field

import sqlalchemy
from _db_path_postgres import (
    AsyncpgConn,
    AsyncpgPool,
    SqlaAsyncPg,
    pg_reachable,
    pg_setup,
    pg_teardown,
)
from _db_path_sqlite import (
    SEED_ROWS,
    AiosqliteDirect,
    SqlaAsyncSqlite,
    SqlaSyncOnLoop,
    SqliteOneThread,
    SqliteOnLoop,
    SqliteToThread,
    Variant,
    make_sqlite_template,
)
from _load import load_average

LAG_TICK_S = 0.002


# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    """One round of one variant: write tx/s, reads/s and the loop lag p99."""

    writes_per_s: float
    reads_per_s: float
    lag_p99_ms: float


@dataclass
class Result:
    """The rounds of one variant."""

    label: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples)

    def spread(self, attr: str) -> float:
        """(max - min) / median over the rounds: how noisy this number was."""
        values = [getattr(s, attr) for s in self.samples]
        return (max(values) - min(values)) / statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; 0.0 of no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def lag_ticker(out: list[float]) -> None:
    """Append how late each 2 ms sleep woke up, until cancelled."""
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
    """Warm up, then time writes (with the lag ticker running) and reads."""
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
    """The SQLite variants over the rounds, each on a fresh copy of the template."""
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
    """The PostgreSQL variants over the rounds, on tables made for this run."""
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
    """One section's table: medians and ratios against its first variant."""
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
    """The command line (see --help)."""
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
    """Print the header, run the sections and print their tables."""
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
    """The SQLite section, then the PostgreSQL one if it is reachable and not skipped."""
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
    """Run the benchmark on uvloop or asyncio (--loop)."""
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

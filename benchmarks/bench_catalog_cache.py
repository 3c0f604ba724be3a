"""Benchmark: catalog reads per second with no cache, the in-process cache and Redis.

In one process: the catalog's real handlers on its real store, migrated as the service
migrates it (--products products in --categories categories), and the catalog's real
FastAPI app called as ASGI (routes, the workload token check, JSON; a minimal
``receive``/``send`` as in bench_ratelimit, no sockets). Two stores: SQLite (the embedded
default) and PostgreSQL (the production profile's; MERCATO_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/, a database of the run's own, dropped at the end;
left out, saying why, when none answers or with --no-postgres). Two reads, each by
--tasks concurrent tasks:

  product by id   GET /api/v1/catalog/products/{id}, ids drawn from every product
  search page     GET /api/v1/catalog/products?category=<c>&limit=20, over the categories

Three caches (services/catalog/cache.py, cache_redis.py), interleaved over --rounds
rounds, medians reported with ratios to the baseline:

  none            NoProductCache: every read goes to the store (baseline)
  in process      MemoryProductCache (cachetools.TTLCache), TTL 30 s
  Redis           RedisProductCache on --redis (default redis://127.0.0.1:6379/0) under a
                  key prefix of its own, deleted at the end; left out, saying why, when
                  no Redis answers

Every cache is warm (one pass over the ids and categories before the rounds): this is
the steady state of a catalog read far more often than it is changed.

Run:  python benchmarks/bench_catalog_cache.py          (about 2 min)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support helpers

import redis
from _load import OverRounds, load_average
from _postgres import PG_SERVER, drop_databases, pg
from rich.console import Console
from rich.table import Table

from mercato.chassis.clock import new_id, utc_now
from mercato.chassis.data.opening import open_database
from mercato.chassis.logging import configure_logging
from mercato.chassis.messaging import Outbox
from mercato.chassis.settings import load_settings
from mercato.services.catalog.bootstrap import MIGRATIONS, build
from mercato.services.catalog.cache import MemoryProductCache, NoProductCache
from mercato.services.catalog.cache_redis import RedisProductCache
from mercato.services.catalog.handlers import Catalog
from mercato.services.catalog.store import SqlProductRepository
from tests.support.service_http import WORKLOAD_KEYS, service_app

TTL = 30.0
CACHES = ("none", "in process", "Redis")
KINDS = ("product by id", "search page")
LEVELS = ("handler", "service")
STORES = ("SQLite", "PostgreSQL")


class Runs(OverRounds):
    def __init__(self) -> None:
        self.runs: list[dict] = []


async def seed(db, products: int, categories: int) -> list[str]:
    catalog = Catalog(db=db, products=SqlProductRepository(db), outbox=Outbox(db, "catalog"),
                      clock=utc_now, new_id=new_id, cache=NoProductCache())
    ids = []
    for n in range(products):
        p = await catalog.create_product({
            "sku": f"SKU-{n:06d}", "name": f"Product {n:06d}", "category": f"c{n % categories}",
            "description": "A product of the benchmark " * 4, "price": 100 + n,
            "currency": "USD"})
        ids.append(p.id)
    return ids


class Variant:
    """One cache: its handlers, and the catalog app wired to them."""

    def __init__(self, label: str, db, cache, tmp: Path) -> None:
        self.label, self.cache = label, cache
        self.catalog = Catalog(db=db, products=SqlProductRepository(db),
                               outbox=Outbox(db, "catalog"), clock=utc_now, new_id=new_id,
                               cache=cache)
        self.app, _identity, _token = service_app("catalog", build, tmp)
        self.app.state.catalog = self.catalog
        self.headers: list = []

    def sign(self) -> None:
        """The gateway's token (``token`` reuses one until a minute before it expires)."""
        token = WORKLOAD_KEYS.identity("gateway").token("catalog")
        self.headers = [(b"authorization", f"Bearer {token}".encode())]

    async def read(self, level: str, kind: str, key: str) -> None:
        if level == "handler":
            if kind == "product by id":
                await self.catalog.get_product(key)
            else:
                await self.catalog.search(text=None, category=key, limit=20, cursor=None)
            return
        path, query = ((f"/api/v1/catalog/products/{key}", b"") if kind == "product by id"
                       else ("/api/v1/catalog/products", f"category={key}&limit=20".encode()))
        await asgi_get(self.app, path, query, self.headers)


async def asgi_get(app, path: str, query: bytes, headers: list) -> None:
    status = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(event):
        if event["type"] == "http.response.start":
            status.append(event["status"])
    await app({"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
               "query_string": query, "headers": headers, "client": ("127.0.0.1", 40000),
               "server": ("test", 80), "scheme": "http", "http_version": "1.1",
               "root_path": ""}, receive, send)
    if status != [200]:
        raise RuntimeError(f"GET {path} answered {status}")


async def timed(variant: Variant, level: str, kind: str, keys: list[str], seconds: float,
                tasks: int) -> float:
    """Reads per second by ``tasks`` concurrent tasks reading for ``seconds``."""
    variant.sign()
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        rng = random.Random(w)
        while time.perf_counter() < deadline:
            await variant.read(level, kind, rng.choice(keys))
            done += 1
    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(tasks)))
    return done / (time.perf_counter() - started)


async def open_store(store: str, tmp: Path, database: str):
    settings = (load_settings(data_dir=tmp) if store == "SQLite"
                else load_settings(data_dir=tmp, database_url=pg(database)))
    return await open_database(settings, "catalog", MIGRATIONS)


async def main(args) -> int:
    configure_logging("bench", "warning")  # no line per request
    tmp = Path(tempfile.mkdtemp(prefix="bench-catalog-cache-"))
    database = f"bench_catalog_cache_{uuid.uuid4().hex[:12]}"
    prefix = f"bench-catalog-cache:{uuid.uuid4().hex}:"
    probe = redis.Redis.from_url(args.redis, socket_connect_timeout=1, socket_timeout=1)
    notes, dbs, made = [], {}, []
    try:
        probe.ping()
        redis_ok = True
    except redis.exceptions.RedisError as exc:
        redis_ok = False
        notes.append(f"Redis left out: none answers at {args.redis}: {exc}")
    stores = ["SQLite"]
    if args.no_postgres:
        notes.append("PostgreSQL left out: --no-postgres")
    else:
        stores.append("PostgreSQL")
    variants: dict[str, list[Variant]] = {}
    keys: dict[tuple[str, str], list[str]] = {}
    categories = [f"c{n}" for n in range(args.categories)]
    try:
        for store in list(stores):
            try:
                dbs[store] = await open_store(store, tmp / store, database)
            except Exception as exc:  # no server: say so, measure the rest
                stores.remove(store)
                notes.append(f"{store} left out: {PG_SERVER} did not answer: {exc}")
                continue
            if store == "PostgreSQL":
                made.append(database)
            db = dbs[store]
            keys[(store, "product by id")] = await seed(db, args.products, args.categories)
            keys[(store, "search page")] = categories
            variants[store] = [
                Variant("none", db, NoProductCache(), tmp / store),
                Variant("in process", db, MemoryProductCache(TTL, products=args.products),
                        tmp / store)]
            if redis_ok:
                variants[store].append(Variant("Redis", db, RedisProductCache(
                    args.redis, prefix=f"{prefix}{store}:", ttl=TTL, timeout=1.0),
                    tmp / store))
        runs = {(store, v.label, level, kind): Runs() for store in stores
                for v in variants[store] for level in LEVELS for kind in KINDS}
        for store in stores:  # warm: every id and page cached, imports and scripts loaded
            for v in variants[store]:
                for kind in KINDS:
                    for key in keys[(store, kind)]:
                        await v.read("handler", kind, key)
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
            for store in stores:
                for level in LEVELS:
                    for kind in KINDS:
                        for v in variants[store]:
                            rps = await timed(v, level, kind, keys[(store, kind)],
                                              args.seconds, args.tasks)
                            runs[(store, v.label, level, kind)].runs.append({"rps": rps})
    finally:
        for vs in variants.values():
            for v in vs:
                if isinstance(v.cache, RedisProductCache):
                    await v.cache.close()
        left = list(probe.scan_iter(match=prefix + "*")) if redis_ok else []
        if left:
            probe.delete(*left)
        probe.close()
        for db in dbs.values():
            await db.close()
        if made:
            await drop_databases(made)
    print_table(args, runs, stores, notes)
    return 0


def print_table(args, runs: dict, stores: list[str], notes: list[str]) -> None:
    table = Table(title=f"Catalog reads per second, {args.seconds:g} s x {args.rounds} rounds "
                        f"by {args.tasks} tasks, {args.products:,} products")
    numbers = ("reads/s", "x none", "µs/read", "best reads/s", "x none best", "spread")
    for col in ("store", "level", "read", "cache", *numbers):
        table.add_column(col, justify="right" if col in numbers else "left")
    for store in stores:
        for level in LEVELS:
            for kind in KINDS:
                none = runs[(store, "none", level, kind)]
                base, best_base = none.median("rps"), max(r["rps"] for r in none.runs)
                for label in CACHES:
                    one = runs.get((store, label, level, kind))
                    if one is None:
                        continue
                    rps, best = one.median("rps"), max(r["rps"] for r in one.runs)
                    table.add_row(store, level, kind, label, f"{rps:,.0f}", f"{rps / base:.2f}",
                                  f"{1e6 / rps:.0f}", f"{best:,.0f}", f"{best / best_base:.2f}",
                                  f"{one.spread('rps'):.0%}")
    console = Console(width=120)
    console.print(f"bench_catalog_cache  python {platform.python_version()}  "
                  f"redis-py {redis.__version__}  cpus={os.cpu_count()}  "
                  f"loadavg at end={load_average()}")
    console.print(table)
    console.print("handler: the catalog's handlers (get_product, search) on the store; service: "
                  "its FastAPI app called as ASGI (routes, token check, JSON). x none: "
                  "against no cache, same store, level and read (median of the rounds; best: "
                  "the best round of each, the cost without the machine's other load). "
                  "spread = (max-min)/median of the rounds.")
    for note in notes:
        console.print(note)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=1.0, help="per variant, read and round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--tasks", type=int, default=8, help="concurrent readers")
    p.add_argument("--products", type=int, default=1_000)
    p.add_argument("--categories", type=int, default=50)
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--redis", default=os.environ.get("MERCATO_REDIS_URL")
                   or "redis://127.0.0.1:6379/0")
    sys.exit(asyncio.run(main(p.parse_args())))

"""Benchmark: the whole platform on SQLite against PostgreSQL, side by side.

One platform per variant (`python -m mercato up --no-seed`, temp data dir,
MERCATO_LOG_LEVEL=warning), one after the other:

  sqlite   embedded: a SQLite file per service, one NATS server            <- baseline
  pg       PostgreSQL (a database per service, bench_<run>_<variant>_<service>, made
           by the services, dropped at the end), one NATS server
  prod     production: PostgreSQL, 3 NATS nodes, the gateway's limits in Redis (a key
           prefix of this run's, deleted at the end)

On each, after bench_checkout.py's Setup and smoke order: (1) checkouts, open loop, at
--rate orders/s for --duration s (bench_checkout.py's load child: aiohttp + nats-py,
confirmations from the OrderConfirmed events), (2) GET /api/v1/catalog/products at
--read-rate for --read-duration s.

CPU: every platform process (gateway, services, each nats-server, trace store, supervisor)
from /proc/<pid>/stat over the timed window. PostgreSQL apart: the backends of this run's
databases (pg_stat_activity polled every 0.25 s, CPU from /proc); the server's shared
processes (WAL writer, checkpointer) and Redis (shared) are excluded. RSS after the
checkout window. Messaging pipeline: "relay" = OrderConfirmed recorded (occurred_at) ->
received by a JetStream subscriber (outbox -> relay -> JetStream), a latency.

PostgreSQL: the orders event store's append lock (tx.lock("order-events")): backends
waiting on it during the window, events per order, and serial transactions shaped like the
placing one (lock, MAX(seq)+1 insert, 3 inserts, commit) on a scratch table: 1 / its time
bounds appends/s. Every platform is stopped (SIGINT) in a finally block, Ctrl-C and
SIGTERM too; its databases are dropped and its Redis keys deleted.

Run:  .venv/bin/python benchmarks/bench_backends.py            (about 4 minutes)
      .venv/bin/python benchmarks/bench_backends.py --rate 50 --variants sqlite,pg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import _checkout_setup
import asyncpg
from _checkout_load import run_child
from _checkout_setup import SERVICES, Setup, child_config, child_timeout, login
from _load import load_average
from _platform import Platform, add_platform_options, call, instance_of, run_main
from _postgres import PgSampler, drop_databases, pg, rss_mb
from _procfs import data_dir_pid, settle

REDIS_URL = os.environ.get("MERCATO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DB_SERVICES = ("identity", "catalog", "inventory", "cart", "orders", "payments", "shipping",
               "notifications")
VARIANTS = {"sqlite": "SQLite, 1 NATS", "pg": "PostgreSQL, 1 NATS",
            "prod": "PostgreSQL, 3 NATS, Redis"}
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:5.0f}s] {msg}", file=sys.stderr, flush=True)


def nats_pids(plat: Platform) -> list[int]:
    """Every nats-server of this data dir (three with MERCATO_NATS_CLUSTER=3)."""
    def cmd(pid: int) -> bytes:
        with contextlib.suppress(OSError):
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        return b""
    return sorted(p for p in plat.leftover_pids() if b"nats-server" in cmd(p))


async def lock_probe(db: str, n: int) -> dict:
    """Events per order in the run's event store, and serial append-shaped transactions
    holding the advisory lock on a scratch table: the lock's hold time from this client."""
    conn = await asyncpg.connect(pg(db), timeout=5)
    try:
        row = await conn.fetchrow("SELECT count(*) AS events, count(DISTINCT order_id) AS orders,"
                                  " count(DISTINCT (order_id, at)) AS appends FROM order_events")
        await conn.execute("CREATE TABLE bench_probe (seq bigint PRIMARY KEY, order_id text,"
                           " data text); CREATE TABLE bench_probe2 (k text, v text)")
        times = []
        for i in range(n):
            t = time.perf_counter()
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                   "bench-probe")
                await conn.execute("INSERT INTO bench_probe VALUES ((SELECT COALESCE(MAX(seq),"
                                   " 0) + 1 FROM bench_probe), $1, $2)", str(i), "x" * 300)
                for _ in range(3):  # key, units, saga/outbox rows
                    await conn.execute("INSERT INTO bench_probe2 VALUES ($1, $2)", str(i),
                                       "y" * 200)
            times.append(time.perf_counter() - t)
        return {**dict(row), "tx_ms_p50": statistics.median(times) * 1000,
                "tx_ms_p99": sorted(times)[int(0.99 * len(times))] * 1000}
    finally:
        await conn.close()


def _orders(run: dict) -> float:
    return max(1e-9, run["done_rps"] * run["duration"])


def window_cpu_ms(run: dict, keys) -> float:
    return sum(run["cpu_s"].get(k) or 0.0 for k in keys) * 1000


def run_variant(name: str, args, run_id: str) -> dict:
    databases = {s: f"bench_{run_id}_{name}_{s}" for s in DB_SERVICES}
    extra: dict[str, str] = {}
    prefix = f"bench:{run_id}:{name}:"
    if name != "sqlite":
        extra = {f"MERCATO_{s.upper()}_DATABASE_URL": pg(db) for s, db in databases.items()}
    if name == "prod":
        extra.update(MERCATO_NATS_CLUSTER="3", MERCATO_REDIS_URL=REDIS_URL,
                     MERCATO_RATE_LIMIT_REDIS_PREFIX=prefix,
                     MERCATO_CATALOG_CACHE_PREFIX=prefix + "catalog:")
    saved = dict(os.environ)
    os.environ.update(extra)
    plat = Platform.in_temp_dir(f"bench_backends_{name}_")
    sampler = PgSampler(databases) if name != "sqlite" else None
    out: dict = {"name": name}
    try:
        took = plat.start(args.ready_timeout)
        log(f"{name}: platform ready in {took:.1f}s, gateway {plat.url}, data dir {plat.data_dir}")
        state = json.loads((Path(plat.data_dir) / "run" / "state.json").read_text())
        setup = Setup(plat.url, args)
        setup.nats_login = login(Path(plat.data_dir))
        setup.run()
        setup.smoke()
        items = call("GET", f"{plat.url}/api/v1/ops/services", token=setup.admin)["items"]
        watch = {s: int(instance_of(items, s)["pid"]) for s in SERVICES}
        for i, pid in enumerate(nats_pids(plat), 1):
            watch[f"nats{i}"] = pid
        if tpid := data_dir_pid(plat.data_dir, b"serve\0traces\0"):
            watch["traces"] = tpid
        watch["up"] = plat.proc.pid
        log(f"{name}: set up, one order confirmed; pids " +
            " ".join(f"{k}={v}" for k, v in watch.items()))

        cfg = child_config("checkout", "open", args, setup, state["nats_url"], watch)
        log(f"{name}: checkout, open loop, {args.rate:g}/s for {args.duration:g}s ...")
        run = run_child(cfg, child_timeout(cfg))
        out["rss"] = {k: rss_mb(p) for k, p in watch.items()}
        if sampler:
            out["rss"]["postgres backends (private)"] = sampler.rss()
            t0 = run["sample"][0]["due"] if run.get("sample") else time.time() - args.duration
            run["pg_cpu_s"] = sampler.cpu(t0, t0 + args.duration)
            out["lock_waiting"] = sampler.waiting(t0, t0 + args.duration)
        out["checkout"] = run
        log(f"{name}: {run['done_rps']:.1f} confirmed/s, POST p50 {run['req_p50_ms']:.0f} ms, "
            f"->confirmed p99 {run['conf_p99_ms']:.0f} ms, errors {run['errors']}; settling")
        settle(watch)

        setup.fresh()
        rargs = argparse.Namespace(**{**vars(args), "rate": args.read_rate})
        cfg = child_config("read", "open", rargs, setup, state["nats_url"], watch,
                           duration=args.read_duration)
        cfg["read_path"] = "/api/v1/catalog/products"
        log(f"{name}: GET /api/v1/catalog/products, {args.read_rate:g}/s for "
            f"{args.read_duration:g}s ...")
        read = run_child(cfg, child_timeout(cfg))
        if sampler:
            t1 = time.time() - 0.2
            read["pg_cpu_s"] = sampler.cpu(t1 - args.read_duration, t1)
        out["read"] = read
        log(f"{name}: {read['done_rps']:.1f} reads/s, p50 {read['req_p50_ms']:.1f} ms")
        if sampler:
            out["max_conns"] = dict(sampler.max_conns)
            out["lock"] = asyncio.run(lock_probe(databases["orders"], args.probe))
            log(f"{name}: lock probe {out['lock']}")
    finally:
        if sampler:
            sampler.stop()
        plat.close(args.keep_data, say=log)
        os.environ.clear()
        os.environ.update(saved)
        if name != "sqlite":
            asyncio.run(drop_databases(list(databases.values())))
            log(f"{name}: dropped {len(databases)} databases bench_{run_id}_{name}_*")
        if name == "prod":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            if keys := list(client.scan_iter(match=prefix + "*")):
                client.delete(*keys)
            client.close()
    return out


def _retrying(call_once):
    """bench_checkout's Setup calls through the gateway; on a busy box a registration
    (argon2) can outlast the gateway's call timeout (503): wait and retry, and a retried
    registration that had gone through (409) is done."""
    def call_retrying(method: str, url: str, body=None, token=None):
        for attempt in range(6):
            try:
                return call_once(method, url, body, token)
            except RuntimeError as exc:
                if " -> 409" in str(exc) and attempt and url.endswith("/identity/users"):
                    return {}
                if " -> 503" not in str(exc) or attempt == 5:
                    raise
                log(f"setup: {method} {url} answered 503; retrying in 2 s")
                time.sleep(2)
    return call_retrying


_checkout_setup.call = _retrying(call)  # what Setup calls the gateway with


def _f(v, fmt="{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def _x(v, base) -> str:
    return "" if not v or not base else f" ({v / base:.2f}x)"


def report(results: list[dict], args) -> None:
    base = results[0]
    plat_keys = lambda r: [k for k in r["checkout"]["cpu_s"] if k != "load"]  # noqa: E731
    print(f"\n## Checkout, open loop at {args.rate:g}/s for {args.duration:g}s; catalog list "
          f"at {args.read_rate:g}/s for {args.read_duration:g}s (x = ratio to {base['name']})\n")
    print("| variant | confirmed/s | CPU ms/order (platform) | of which NATS | PostgreSQL "
          "backends ms/order | POST p50 / p99 ms | ->confirmed p50 / p99 ms | relay p50 / p99 "
          "ms | errors | catalog list CPU ms/req (platform + PG) | list p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    b_cpu = b_read = None
    for r in results:
        c, rd = r["checkout"], r["read"]
        orders, reqs = _orders(c), _orders(rd)
        cpu = window_cpu_ms(c, plat_keys(r)) / orders
        nats = window_cpu_ms(c, [k for k in c["cpu_s"] if k.startswith("nats")]) / orders
        pgc = sum(c["pg_cpu_s"].values()) * 1000 / orders if "pg_cpu_s" in c else None
        rcpu = window_cpu_ms(rd, [k for k in rd["cpu_s"] if k != "load"]) / reqs
        rpg = sum(rd["pg_cpu_s"].values()) * 1000 / reqs if "pg_cpu_s" in rd else None
        b_cpu, b_read = b_cpu or cpu, b_read or rcpu
        print(f"| {r['name']} ({VARIANTS[r['name']]}) | {c['done_rps']:.1f}"
              f"{_x(c['done_rps'], base['checkout']['done_rps'])} | {cpu:.1f}{_x(cpu, b_cpu)} "
              f"| {nats:.1f} | {_f(pgc)} | {c['req_p50_ms']:.0f} / {c['req_p99_ms']:.0f}"
              f"{_x(c['req_p50_ms'], base['checkout']['req_p50_ms'])} | "
              f"{c['conf_p50_ms']:.0f} / {c['conf_p99_ms']:.0f}"
              f"{_x(c['conf_p50_ms'], base['checkout']['conf_p50_ms'])} | "
              f"{c['relay_p50_ms']:.1f} / {c['relay_p99_ms']:.1f} | "
              f"{sum(c['errors'].values())} | {rcpu:.2f}{_x(rcpu, b_read)} + {_f(rpg, '{:.2f}')} "
              f"| {rd['req_p50_ms']:.1f} / {rd['req_p99_ms']:.1f} |")
    print("\n## CPU ms per confirmed order (checkout) and per catalog list request (read), "
          "by process\n")
    print("| process | " + " | ".join(f"{r['name']} checkout | {r['name']} read"
                                      for r in results) + " |")
    print("|---|" + "---|---|" * len(results))
    rows = [(p, lambda r, k, p=p: r[k]["cpu_s"].get(p))
            for p in dict.fromkeys(k for r in results for k in r["checkout"]["cpu_s"])]
    rows += [(f"postgres: {s} db", lambda r, k, s=s: r[k].get("pg_cpu_s", {}).get(s))
             for s in dict.fromkeys(k for r in results for k in r["checkout"].get("pg_cpu_s", {}))]
    for name, get in rows:
        cells = [_f(None if (v := get(r, k)) is None else v * 1000 / _orders(r[k]),
                    "{:.1f}" if k == "checkout" else "{:.2f}")
                 for r in results for k in ("checkout", "read")]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n## RSS after the checkout window, MB (VmRSS; PostgreSQL: backends' sum without "
          "shared memory)\n")
    print("| process | " + " | ".join(r["name"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for k in dict.fromkeys(k for r in results for k in r["rss"]):
        print(f"| {k} | " + " | ".join(_f(r["rss"].get(k), "{:.0f}") for r in results) + " |")
    print("| total | " + " | ".join(f"{sum(v or 0 for v in r['rss'].values()):.0f}"
                                    for r in results) + " |")
    for r in results:
        if "lock" in r:
            lk = r["lock"]
            print(f"\n{r['name']}: orders backends waiting on an advisory lock (tx.lock), mean "
                  f"over the checkout window: {r['lock_waiting']:.2f}")
            print(f"{r['name']}: PostgreSQL connections at most per database: {r['max_conns']}; "
                  f"order_events: {lk['events']} events, {lk['orders']} orders, {lk['appends']} "
                  f"appends; probe tx holding the lock p50 {lk['tx_ms_p50']:.2f} ms p99 "
                  f"{lk['tx_ms_p99']:.2f} ms")
    for r in results:
        for kind in ("checkout", "read"):
            if r[kind]["errors"] or r[kind].get("error_samples"):
                print(f"{r['name']} {kind} errors: {r[kind]['errors']} "
                      f"{r[kind].get('error_samples')}")


def run_benchmark(args) -> None:
    sys.stdout.reconfigure(line_buffering=True)
    os.environ["MERCATO_LOG_LEVEL"] = args.log_level
    run_id = uuid.uuid4().hex[:8]
    print(f"bench_backends  cpus={os.cpu_count()}  loadavg at start={load_average()}  "
          f"run={run_id}  variants={args.variants}  rate={args.rate:g}/s duration="
          f"{args.duration:g}s read-rate={args.read_rate:g}/s "
          f"read-duration={args.read_duration:g}s")
    results = []
    for name in args.variants.split(","):
        results.append(run_variant(name, args, run_id))
        log(f"loadavg {load_average()}")
    report(results, args)
    print(f"\nloadavg at end={load_average()}")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--variants", default="sqlite,pg,prod",
                   help="comma-separated, first is the baseline (default %(default)s)")
    p.add_argument("--rate", type=float, default=30.0, help="orders/s offered (default 30)")
    p.add_argument("--duration", type=float, default=30.0, help="checkout window s (30)")
    p.add_argument("--read-rate", type=float, default=50.0, help="catalog reads/s (50)")
    p.add_argument("--read-duration", type=float, default=10.0, help="read window s (10)")
    p.add_argument("--warmup", type=float, default=2.0, help="s before each window (2)")
    p.add_argument("--drain", type=float, default=60.0, help="s for orders to end (60)")
    p.add_argument("--products", type=int, default=20, help="products (20)")
    p.add_argument("--stock", type=int, default=1_000_000, help="stock per product")
    p.add_argument("--customers", type=int, default=20, help="customers (20)")
    p.add_argument("--probe", type=int, default=500, help="append-lock probe tx (500)")
    p.add_argument("--log-level", default="warning", help="MERCATO_LOG_LEVEL (warning)")
    add_platform_options(p)
    args = p.parse_args(argv)
    bad = [v for v in args.variants.split(",") if v not in VARIANTS]
    if bad:
        p.error(f"unknown variants {bad}; choose from {list(VARIANTS)}")
    # what bench_checkout's child_config reads and this script does not vary
    args.concurrency, args.max_connections, args.saga_sample = 1, 1000, 1
    return args


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        run_main(run_benchmark, parse_args())

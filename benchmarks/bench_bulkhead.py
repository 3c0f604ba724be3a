"""Does a slow shipping service slow catalog reads down? (issue 5: the bulkhead)

Starts the platform (`mercato up --no-seed`, temp data dir) with a small
MERCATO_BULKHEAD_LIMIT and the breaker's threshold out of reach, so that what stands
between shipping's hung calls and the rest of the gateway is the bulkhead alone. Then,
over rounds, loads GET /api/v1/catalog/products/{id} through the gateway at a fixed
concurrency (_load.py, its own process):

  (1) alone, shipping running;
  (2) while --shipping-clients clients call GET /api/v1/shipping/shipments?order_id=x
      through the gateway and shipping is frozen (SIGSTOP: each call hangs until the
      call timeout), clients that wait Retry-After after a 503;
  (3) the same with clients that retry at once (a closed loop: a flood of refused calls).

It prints catalog req/s, p50, p99 and their ratios to (1), and what the shipping calls
got: 503 bulkhead-full (and how fast), 503 timed out, anything else — counted by the
hammer (a small aiohttp client in a thread of this script) and by the gateway's own
bulkhead counters (GET /api/v1/ops/breakers). Goal: (2) keeps >= 0.8x the req/s and p50
within +20%.

Run:  python benchmarks/bench_bulkhead.py             (about 3 min)
      python benchmarks/bench_bulkhead.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from _load import Result, load_average, run_load
from _platform import Platform, add_platform_options, admin_setup, call, instance_of, log, run_main

PRODUCT = {"sku": "BENCH-BH", "name": "Bench", "description": "x", "category": "bench",
           "price": 1000, "currency": "USD"}


# --------------------------------------------------------------------------- the hammer


@dataclass
class Hammer:
    """Clients calling one URL until stopped; outcomes counted by kind with latencies."""

    url: str
    headers: dict
    clients: int
    honour_retry_after: bool
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: Counter = field(default_factory=Counter)
    latencies: dict = field(default_factory=dict)

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=self.clients)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(*(self._client(session) for _ in range(self.clients)))

    async def _client(self, session) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            wait = 0.0
            try:
                async with session.get(self.url, headers=self.headers) as resp:
                    body = await resp.read()
                    kind = classify(resp.status, body)
                    wait = float(resp.headers.get("retry-after", "1")) if resp.status == 503 else 0
            except Exception as exc:  # counted, never raised: the hammer keeps going
                kind = type(exc).__name__
            self.outcomes[kind] += 1
            self.latencies.setdefault(kind, []).append(time.perf_counter() - t0)
            if self.honour_retry_after and wait:
                await asyncio.sleep(wait)
            elif kind not in ("200", "503 bulkhead full", "503 timed out"):
                await asyncio.sleep(0.05)  # something unexpected: do not spin on it


def classify(status: int, body: bytes) -> str:
    if status != 503:
        return str(status)
    text = body.decode("utf-8", "replace")
    if "bulkhead is full" in text:
        return "503 bulkhead full"
    if "timed out" in text:
        return "503 timed out"
    return "503 other: " + text[:80]


def describe(h: Hammer, seconds: float) -> str:
    parts = []
    for kind, n in h.outcomes.most_common():
        p50 = statistics.median(h.latencies[kind]) * 1000
        parts.append(f"{kind} {n / seconds:,.1f}/s (p50 {p50:,.0f} ms)")
    return ", ".join(parts) or "nothing completed"


# --------------------------------------------------------------------------- the run


def shipping_bulkhead(gw: str, token: str) -> dict:
    for b in call("GET", f"{gw}/api/v1/ops/breakers", token=token)["items"]:
        if b["scope"] == "proxy" and b["service"] == "shipping":
            return {"bulkhead": b["bulkhead"], "breaker": b["breaker"]["state"]}
    return {"bulkhead": {"in_flight": 0, "limit": 0, "peak": 0, "rejected": 0},
            "breaker": "-"}


def run_benchmark(args) -> None:
    sys.stdout.reconfigure(line_buffering=True)
    print(f"bench_bulkhead  python {platform.python_version()}  cpus={os.cpu_count()}  "
          f"loadavg at start={load_average()}\n"
          f"catalog: {args.concurrency} connections, {args.duration:g} s (+{args.warmup:g} s "
          f"warm-up) x {args.rounds} rounds; shipping: {args.shipping_clients} clients, "
          f"MERCATO_BULKHEAD_LIMIT={args.bulkhead_limit}, MERCATO_CALL_TIMEOUT="
          f"{args.call_timeout:g}, breaker threshold {args.breaker_failures}")
    os.environ.update(MERCATO_BULKHEAD_LIMIT=str(args.bulkhead_limit),
                      MERCATO_CALL_TIMEOUT=str(args.call_timeout),
                      MERCATO_BREAKER_FAILURES=str(args.breaker_failures),
                      MERCATO_REGISTRY_TTL="600")  # a frozen shipping stays registered
    plat = Platform.in_temp_dir("bench_bulkhead_")
    shipping_pid = None
    try:
        took = plat.start(args.ready_timeout)
        log(f"platform ready in {took:.1f}s, gateway {plat.url}")
        gw = plat.url
        admin, product, items = admin_setup(gw, PRODUCT)
        user = {"email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
                "password": "bench-pass-1", "name": "Bench"}
        call("POST", f"{gw}/api/v1/identity/users", user)
        customer = call("POST", f"{gw}/api/v1/identity/token",
                        {k: user[k] for k in ("email", "password")})["access_token"]
        gateway, shipping = instance_of(items, "gateway"), instance_of(items, "shipping")
        catalog = instance_of(items, "catalog")
        shipping_pid = shipping["pid"]
        catalog_url = f"{gw}/api/v1/catalog/products/{product['id']}"
        shipping_url = f"{gw}/api/v1/shipping/shipments?order_id=bench-x"
        call("GET", shipping_url, token=customer)  # both answer before the load
        call("GET", catalog_url)

        variants = [("(1) catalog alone", None),
                    ("(2) + frozen shipping, clients wait Retry-After", True),
                    ("(3) + frozen shipping, clients retry at once", False)]
        results = [Result(label) for label, _ in variants]
        hammer_notes: dict[int, list[str]] = {i: [] for i in range(len(variants))}
        for rnd in range(args.rounds):
            for k in range(len(variants)):  # rotated: each goes first in some round
                i = (k + rnd) % len(variants)
                label, honour = variants[i]
                hammer = thread = None
                before = shipping_bulkhead(gw, admin)["bulkhead"]
                if honour is not None:
                    os.kill(shipping_pid, signal.SIGSTOP)
                    hammer = Hammer(shipping_url, {"authorization": f"Bearer {customer}"},
                                    args.shipping_clients, honour)
                    thread = threading.Thread(target=hammer.run)
                    thread.start()
                    time.sleep(1.0)  # the bulkhead fills before the catalog load starts
                t0 = time.monotonic()
                try:
                    results[i].runs.append(run_load(
                        catalog_url, concurrency=args.concurrency, duration=args.duration,
                        warmup=args.warmup, watch_pids=[gateway["pid"], catalog["pid"]]))
                finally:
                    if hammer is not None:
                        seconds = time.monotonic() - t0 + 1.0
                        hammer.stop.set()
                        os.kill(shipping_pid, signal.SIGCONT)
                        thread.join()
                after = shipping_bulkhead(gw, admin)
                if hammer is not None:
                    b = after["bulkhead"]
                    hammer_notes[i].append(
                        f"round {rnd + 1}: {describe(hammer, seconds)}; gateway bulkhead: "
                        f"peak {b['peak']}, refused {b['rejected'] - before['rejected']}, "
                        f"breaker {after['breaker']}")
                run = results[i].runs[-1]
                log(f"  .. round {rnd + 1}/{args.rounds}: {label}: {run['rps']:,.0f} req/s, "
                    f"p50 {run['p50_ms']:.1f} ms, errors {run['error_kinds']}, gateway "
                    f"{run['cpu_watched'][0]:.2f} cores, catalog {run['cpu_watched'][1]:.2f}, "
                    f"loadavg {load_average()}")
        print_table(results, args)
        for i, notes in hammer_notes.items():
            for note in notes:
                print(f"{variants[i][0][:3]} shipping calls, {note}")
        print(f"loadavg at end={load_average()}")
    finally:
        if shipping_pid is not None:
            try:
                os.kill(shipping_pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        plat.close()


def print_table(results: list[Result], args) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(
        title=f"Catalog GET by id via the gateway, {args.concurrency} connections "
        f"(median of {args.rounds} rounds)", title_justify="left", caption_justify="left",
        caption="x alone = ratio to (1). Goal (issue 5): req/s >= 0.8x and p50 <= 1.2x "
        "while shipping is slow. cores = CPU the gateway / catalog used in the timed window. "
        "spread = (max-min)/median of req/s over rounds.")
    table.add_column("variant", no_wrap=True)
    for head in ("req/s", "x alone", "p50 ms", "x alone", "p99 ms", "x alone", "errors",
                 "spread", "cores gw/cat"):
        table.add_column(head, justify="right")
    base = results[0]
    for r in results:
        rps, p50, p99 = r.median("rps"), r.median("p50_ms"), r.median("p99_ms")
        gw, cat = r.median_cpu(0), r.median_cpu(1)
        table.add_row(
            r.label, f"{rps:,.0f}", f"{rps / base.median('rps'):.2f}", f"{p50:.2f}",
            f"{p50 / base.median('p50_ms'):.2f}", f"{p99:.2f}",
            f"{p99 / base.median('p99_ms'):.2f}", errors(r), f"{r.spread('rps'):.0%}",
            f"{gw or 0:.2f}/{cat or 0:.2f}")
    console.print(table)


def errors(r: Result) -> str:
    kinds = ",".join(f"{k}:{v}" for k, v in sorted(r.error_kinds().items()))
    return f"{r.errors()} {kinds}" if kinds else "0"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=int, default=10,
                   help="catalog load generator connections (default 10)")
    p.add_argument("--duration", type=float, default=5.0, help="timed seconds (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="untimed seconds (default 1)")
    p.add_argument("--rounds", type=int, default=5,
                   help="rounds; the variants' order rotates each round (default 5)")
    p.add_argument("--shipping-clients", type=int, default=64,
                   help="concurrent shipping clients during (2) and (3) (default 64)")
    p.add_argument("--bulkhead-limit", type=int, default=32,
                   help="MERCATO_BULKHEAD_LIMIT for the platform (default 32; it bounds the "
                   "catalog calls in flight too, so keep it above --concurrency)")
    p.add_argument("--call-timeout", type=float, default=5.0,
                   help="MERCATO_CALL_TIMEOUT: how long a call to frozen shipping hangs")
    p.add_argument("--breaker-failures", type=int, default=1_000_000,
                   help="MERCATO_BREAKER_FAILURES (default out of reach: the bulkhead alone)")
    add_platform_options(p, ready_help=None, keep_data=False)
    return p.parse_args(argv)


def main(argv=None) -> None:
    run_main(run_benchmark, parse_args(argv))


if __name__ == "__main__":
    main()

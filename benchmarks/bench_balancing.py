"""Benchmark: which balancing strategy, when one of three instances is slow or dead?

Three upstream instances are small aiohttp servers on 127.0.0.1 in one child process
(`python benchmarks/bench_balancing.py --serve ...`); the first one waits --slow-ms before
every answer (a degraded instance: a noisy neighbour, a long GC, a cold cache). The parent
calls them through the chassis' `Resilience` (chassis/calls/resilience.py: the balancer,
in-flight counts, outlier ejection, retries, breaker, bulkhead — what the gateway and the
service client use) over one aiohttp session, with --concurrency callers in a closed loop
for --duration seconds per run, and interleaves the strategies round by round:

  slow:  instance 1 answers after --slow-ms, 2 and 3 at once
         round_robin (baseline), random, least_outstanding, p2c
  dead:  instance 3's address refuses connections (its process is gone but its registry
         entry is not yet); instance 1 is not slow. Same four strategies.

Columns: calls/s, p50 and p99 latency and their ratio to round robin, the share of calls
answered by instance 1 (slow scenario) and failed calls (dead scenario: a refused
connection is retried on another instance, then ejection stops sending there), and the
retries made. Everything runs on the same 2 cores; the medians of --rounds rounds are shown,
each round starting with another strategy. On a shared, busy machine calls/s and latency
swing with the neighbours' load; the share sent to the slow instance does not.

Run:  python benchmarks/bench_balancing.py            (about 2 min 10 s)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter

import aiohttp
from aiohttp import web

from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.resilience import CallPolicy, Resilience, Unavailable

STRATEGIES = ("round_robin", "random", "least_outstanding", "p2c")


# --------------------------------------------------------------------------- upstreams


async def serve(slow_ms: float) -> None:
    async def fast(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(slow_ms / 1000)
        return web.Response(text="ok")

    ports = []
    for handler in (slow, fast, fast, fast):  # the fourth is instance 1 without the delay
        app = web.Application()
        app.router.add_get("/item", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.append(runner.addresses[0][1])
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()


# --------------------------------------------------------------------------- load


class View:
    def __init__(self, addresses: list[str]) -> None:
        self.instances = [Instance("item", f"item-{n}", a, "1", health="ready")
                          for n, a in enumerate(addresses, 1)]

    def ready(self, service: str) -> list[Instance]:
        return list(self.instances)


async def run(addresses: list[str], strategy: str, concurrency: int, duration: float) -> dict:
    view = View(addresses)
    resilience = Resilience(view, CallPolicy(balancer=strategy, total_timeout=5.0))
    latencies: list[float] = []
    answered_by: Counter = Counter()
    failed = 0
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(instance: Instance, timeout: aiohttp.ClientTimeout):
            async with session.get(instance.address + "/item", timeout=timeout) as resp:
                await resp.read()
                return resp.status, instance.instance_id

        async def caller(stop_at: float) -> None:
            nonlocal failed
            while (start := time.perf_counter()) < stop_at:
                try:
                    _status, instance_id = await resilience.call(
                        "item", send, safe=True, status_of=lambda r: r[0])
                except Unavailable:
                    failed += 1
                    continue
                latencies.append(time.perf_counter() - start)
                answered_by[instance_id] += 1

        stop_at = time.perf_counter() + duration
        await asyncio.gather(*(caller(stop_at) for _ in range(concurrency)))
    latencies.sort()
    done = len(latencies)
    budget = resilience.guard("item").budget.snapshot()
    return {"rps": done / duration,
            "p50": latencies[done // 2] * 1000 if done else float("nan"),
            "p99": latencies[min(done - 1, int(done * 0.99))] * 1000 if done else float("nan"),
            "first_share": answered_by["item-1"] / done if done else 0.0,
            "failed": failed, "retries": budget["retries"]}


# --------------------------------------------------------------------------- table


def table(title: str, runs: dict[str, list[dict]], share_label: str) -> None:
    from rich.console import Console
    from rich.table import Table

    med = {s: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for s, rs in runs.items()}
    base = med["round_robin"]
    t = Table(title=title)
    for col in ("strategy", "calls/s", "p50 ms", "x rr", "p99 ms", "x rr", share_label,
                "failed", "retries"):
        t.add_column(col, justify="left" if col == "strategy" else "right")
    for s, m in med.items():
        t.add_row(s, f"{m['rps']:,.0f}", f"{m['p50']:.2f}", f"{m['p50'] / base['p50']:.2f}",
                  f"{m['p99']:.2f}", f"{m['p99'] / base['p99']:.2f}",
                  f"{m['first_share']:.1%}", f"{m['failed']:.0f}", f"{m['retries']:.0f}")
    Console(width=130).print(t)


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--slow-ms", type=float, default=20.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.slow_ms))
        return
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--slow-ms",
                              str(args.slow_ms)], stdout=subprocess.PIPE, text=True)
    try:
        ports = json.loads(child.stdout.readline())
        slow, fast2, fast3, fast1 = (f"http://127.0.0.1:{p}" for p in ports)
        scenarios = {"slow": [slow, fast2, fast3], "dead": [fast1, fast2, closed_port()]}
        results = {name: {s: [] for s in STRATEGIES} for name in scenarios}
        print(f"bench_balancing  cpus={os.cpu_count()}  concurrency={args.concurrency} "
              f"duration={args.duration}s rounds={args.rounds} slow={args.slow_ms} ms  "
              f"loadavg={os.getloadavg()[0]:.2f}", file=sys.stderr)
        for r in range(1, args.rounds + 1):
            turn = (r - 1) % len(STRATEGIES)  # a different strategy goes first each round
            for name, addresses in scenarios.items():
                for strategy in STRATEGIES[turn:] + STRATEGIES[:turn]:
                    result = asyncio.run(run(addresses, strategy, args.concurrency,
                                             args.duration))
                    results[name][strategy].append(result)
                    print(f"  .. round {r}: {name} {strategy}: {result['rps']:,.0f} calls/s",
                          file=sys.stderr)
        table(f"Instance 1 of 3 answers after {args.slow_ms:.0f} ms ({args.concurrency} "
              f"callers, median of {args.rounds})", results["slow"], "to slow")
        table(f"Instance 3 of 3 refuses connections ({args.concurrency} callers, median of "
              f"{args.rounds})", results["dead"], "to item-1")
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(10)


if __name__ == "__main__":
    main()

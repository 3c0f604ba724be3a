"""Benchmark: the Mercato gateway against nginx as a reverse proxy, same upstream, same pinning.

Issue 5's goal: the gateway (auth, rate limits and breakers on, as by default) at 80% or more
of nginx's throughput, adding no more than 0.5 ms at p50.

Starts the platform as bench_gateway.py does (`python -m mercato up --no-seed` in a temp data
dir, the gateway on a free port), logs in as the development admin, creates one product and
reads the catalog and identity instances from GET /api/v1/ops/services. Then it starts nginx
(benchmarks/_nginx.py: Debian package `nginx-light`, installed if missing; a child process
with `daemon off`, 1 worker, a generated config in a temp dir, a free port on 127.0.0.1, an
`upstream` block per service with `keepalive 64`, `proxy_http_version 1.1` and an empty
Connection header) in front of the same catalog and identity instances.

Pinning (taskset; --proxy-cpu, --load-cpu, --upstream-cpu): nginx (master and its one worker)
and the gateway (one process, every thread) on the proxy CPU; the load generator (this
script's affinity, which its children inherit) and the catalog and identity instances on the
load CPU. NATS and the other services are not pinned. Variants, interleaved over --rounds
rounds at each --concurrency, median reported:

  catalog read  GET /api/v1/catalog/products/<id>   public route: the gateway's rate limits
                (per client address) and the catalog breaker and bulkhead are on the path
    direct      to the catalog instance
    nginx       proxy_pass to the same instance
    gateway     the Mercato gateway
  users/me      GET /api/v1/identity/users/me with the admin's bearer token
    direct, nginx (forwards the token, checks nothing), gateway (verifies the token, cached
                per token until its exp; per-user and per-address limits; identity breaker)

The load generator is benchmarks/_load.py (aiohttp, keep-alive, closed loop). The proxy's CPU
per request comes from /proc/<pid>/stat of the nginx worker or the gateway over each timed
window. --py-spy PREFIX profiles the gateway afterwards (bench_gateway.profile_gateway).

Everything is stopped in a `finally` block (nginx with SIGTERM, the platform with SIGINT),
on SIGTERM and Ctrl-C too; the temp dirs are removed.

Run:  python benchmarks/bench_nginx.py            (about 4 min; root installs nginx-light)
      python benchmarks/bench_nginx.py --help
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import urllib.request
from pathlib import Path

from _load import Result, load_average, run_load
from _nginx import Nginx, ensure_nginx, nginx_version, pin
from _platform import Platform, add_platform_options, admin_setup, instance_of, log, run_main
from _profile import py_spy_or_skip
from bench_gateway import PRODUCT, profile_gateway

PROXIES = ("direct", "nginx", "gateway")
GOAL_RPS, GOAL_P50_MS = 0.80, 0.5


def print_table(results: dict, concurrency: int, args) -> None:
    """`results[(route, proxy)]` = (Result, index of the watched proxy pid or None, upstream
    index)."""
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=170)
    table = Table(
        title=f"Gateway vs nginx, {concurrency} connections, {args.duration:g} s x "
        f"{args.rounds} rounds (median)", title_justify="left", caption_justify="left",
        caption="x nginx = ratio vs nginx on the same route (req/s: higher is better). +p50 / "
        "+p99 = latency added vs nginx. spread = (max-min)/median of req/s over rounds. "
        "proxy µs/req = CPU of the nginx worker or the gateway per completed request (its "
        "ceiling on one core ~ 1e6 / that); x nginx by CPU = nginx's µs/req / this row's: the "
        "req/s ratio when the proxy, not the upstream, is the bottleneck; upstream µs/req = "
        "the same for the service.")
    table.add_column("variant", no_wrap=True)
    for head in ("req/s", "x nginx", "p50 ms", "+p50 ms", "p99 ms", "+p99 ms", "errors",
                 "spread", "proxy cores", "proxy µs/req", "x nginx by CPU", "upstream µs/req"):
        table.add_column(head, justify="right")
    for route in ("catalog read", "users/me"):
        base = results[(route, "nginx")][0]
        base_cpu = proxy_us(results, route, "nginx", args.duration)
        for proxy in PROXIES:
            r, pidx, uidx = results[(route, proxy)]
            rps, p50, p99 = r.median("rps"), r.median("p50_ms"), r.median("p99_ms")
            done = rps * args.duration

            def per_req(i, r=r, done=done) -> str:
                s = None if i is None else r.median_cpu(i, "cpu_watched_s")
                return "-" if s is None or not done else f"{s / done * 1e6:,.0f}"

            cores = None if pidx is None else r.median_cpu(pidx)
            mine = proxy_us(results, route, proxy, args.duration)
            by_cpu = "-" if not (mine and base_cpu) else f"{base_cpu / mine:.2f}"
            errors = str(r.errors())
            if r.errors():
                errors += " " + ",".join(f"{k}:{v}" for k, v in sorted(r.error_kinds().items()))
            same = proxy == "nginx"
            table.add_row(
                f"{route}, {proxy}", f"{rps:,.0f}", f"{rps / base.median('rps'):.2f}",
                f"{p50:.2f}", "-" if same else f"{p50 - base.median('p50_ms'):+.2f}",
                f"{p99:.2f}", "-" if same else f"{p99 - base.median('p99_ms'):+.2f}",
                errors, f"{r.spread('rps'):.0%}", "-" if cores is None else f"{cores:.2f}",
                per_req(pidx), by_cpu, per_req(uidx), end_section=proxy == "gateway")
    console.print(table)


def proxy_us(results: dict, route: str, proxy: str, duration: float) -> float | None:
    """Median CPU µs per completed request of the proxy of `proxy` (None for direct)."""
    r, pidx, _ = results[(route, proxy)]
    seconds = None if pidx is None else r.median_cpu(pidx, "cpu_watched_s")
    done = r.median("rps") * duration
    return None if seconds is None or not done else seconds / done * 1e6


def verdict(results: dict, concurrency: int, duration: float) -> list[bool]:
    met = []
    for route in ("catalog read", "users/me"):
        gw, ng = results[(route, "gateway")][0], results[(route, "nginx")][0]
        ratio = gw.median("rps") / ng.median("rps")
        added = gw.median("p50_ms") - ng.median("p50_ms")
        ok = ratio >= GOAL_RPS and added <= GOAL_P50_MS
        met.append(ok)
        ng_us, gw_us = (proxy_us(results, route, p, duration) for p in ("nginx", "gateway"))
        by_cpu = f"{ng_us / gw_us:.2f}x" if ng_us and gw_us else "n/a"
        print(f"goal @{concurrency} conn, {route}: gateway {ratio:.2f}x nginx req/s "
              f"(>= {GOAL_RPS:.2f}: {'yes' if ratio >= GOAL_RPS else 'NO'}), p50 {added:+.2f} ms"
              f" vs nginx (<= {GOAL_P50_MS} ms: {'yes' if added <= GOAL_P50_MS else 'NO'})"
              f" -> {'met' if ok else 'NOT met'}; by proxy CPU per request: {by_cpu}")
    return met


def run_benchmark(args) -> None:
    import aiohttp
    import uvicorn

    sys.stdout.reconfigure(line_buffering=True)
    binary = ensure_nginx()
    cpus = os.cpu_count() or 1
    for name in ("proxy_cpu", "load_cpu", "upstream_cpu"):
        value = getattr(args, name)
        if value is not None and not 0 <= value < cpus:
            setattr(args, name, None)
            log(f"--{name.replace('_', '-')} {value}: no such CPU here; left unpinned")
    print(f"bench_nginx  python {platform.python_version()}  uvicorn {uvicorn.__version__}  "
          f"aiohttp {aiohttp.__version__}  nginx {nginx_version(binary)}  cpus={cpus}  "
          f"loadavg at start={load_average()}\nduration={args.duration:g}s "
          f"warmup={args.warmup:g}s rounds={args.rounds} concurrency={args.concurrency}  "
          "load generator: benchmarks/_load.py (aiohttp, own process)")
    plat = Platform.in_temp_dir("bench_nginx_")
    nginx = None
    try:
        took = plat.start(args.ready_timeout)
        log(f"platform ready in {took:.1f}s, gateway {plat.url}")
        gw = plat.url
        token, product, items = admin_setup(gw, PRODUCT)
        catalog, identity = instance_of(items, "catalog"), instance_of(items, "identity")
        gateway = instance_of(items, "gateway")
        nginx = Nginx(binary, {"catalog": catalog["address"],
                               "identity": identity["address"]}, args.proxy_cpu)
        nginx.start()
        worker = nginx.worker_pid()
        pinned = [f"nginx master {nginx.proc.pid} + worker {worker} -> cpu {args.proxy_cpu}"
                  if args.proxy_cpu is not None else "nginx not pinned",
                  "gateway " + pin(gateway["pid"], args.proxy_cpu),
                  "catalog " + pin(catalog["pid"], args.upstream_cpu),
                  "identity " + pin(identity["pid"], args.upstream_cpu)]
        if args.load_cpu is not None:
            os.sched_setaffinity(0, {args.load_cpu})  # the load generators inherit it
            pinned.append(f"load generator -> cpu {args.load_cpu}")
        print("pinned (taskset): " + "; ".join(pinned) + "; NATS and the other services "
              "not pinned")
        auth = {"authorization": f"Bearer {token}"}
        paths = {"catalog read": (f"/api/v1/catalog/products/{product['id']}", {}, catalog),
                 "users/me": ("/api/v1/identity/users/me", auth, identity)}
        watch = [worker, gateway["pid"], catalog["pid"], identity["pid"]]
        variants = []  # (route, proxy, url, headers, proxy pid index, upstream pid index)
        for route, (path, headers, upstream) in paths.items():
            up = 2 if upstream is catalog else 3
            variants += [(route, "direct", upstream["address"] + path, headers, None, up),
                         (route, "nginx", nginx.url + path, headers, 0, up),
                         (route, "gateway", gw + path, headers, 1, up)]
        for route, proxy, url, headers, *_ in variants:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        timeout=10) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{route}, {proxy}: {url} answered {resp.status}")
        met = []
        for conc in args.concurrency:
            results = {(v[0], v[1]): (Result(f"{v[0]}, {v[1]}"), v[4], v[5]) for v in variants}
            for rnd in range(args.rounds):
                for route, proxy, url, headers, _, _ in variants:
                    r = results[(route, proxy)][0]
                    r.runs.append(run_load(url, concurrency=conc, duration=args.duration,
                                           warmup=args.warmup, watch_pids=watch,
                                           headers=headers))
                    log(f"  .. {conc} conn, round {rnd + 1}/{args.rounds}: {route}, {proxy}: "
                        f"{r.runs[-1]['rps']:,.0f} req/s")
            print_table(results, conc, args)
            met += verdict(results, conc, args.duration)
        print(f"goal met in {sum(met)} of {len(met)} cases; loadavg at end={load_average()}")
        if args.py_spy and (exe := py_spy_or_skip(log)):
            prof = argparse.Namespace(concurrency=args.concurrency[0], duration=args.duration,
                                      warmup=args.warmup)
            for tag, route in (("catalog", "catalog read"), ("me", "users/me")):
                path, headers, _ = paths[route]
                profile_gateway(exe, Path(f"{args.py_spy}-{tag}.speedscope.json"),
                                gateway["pid"], gw + path, headers, prof)
    finally:
        if nginx is not None:
            nginx.stop()
        plat.close(args.keep_data)


def cpu_arg(value: str) -> int | None:
    return None if value in ("none", "-1") else int(value)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Compare the Mercato gateway with nginx (proxy_pass, keepalive upstream) "
        "in front of the same catalog and identity instances, both pinned to the same CPU, "
        "against calling the service directly: req/s, p50/p99, the proxy's CPU per request. "
        "Installs nginx-light if missing (root) and cleans up every process and temp dir.")
    p.add_argument("--concurrency", type=int, nargs="+", default=[50, 1],
                   help="keep-alive connections of the load generator; one table per value "
                   "(default 50 1)")
    p.add_argument("--duration", type=float, default=5.0, help="timed seconds (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="untimed seconds (default 1)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--proxy-cpu", type=cpu_arg, default=1,
                   help="CPU for nginx and the gateway, or 'none' (default 1)")
    p.add_argument("--load-cpu", type=cpu_arg, default=0,
                   help="CPU for the load generator, or 'none' (default 0)")
    p.add_argument("--upstream-cpu", type=cpu_arg, default=0,
                   help="CPU for the catalog and identity instances, or 'none' (default 0)")
    add_platform_options(p, ready_help=None, keep_data_help="keep the platform's data dir")
    p.add_argument("--py-spy", metavar="PREFIX",
                   help="afterwards, profile the gateway with py-spy during one more catalog "
                   "read and users/me run; writes PREFIX-catalog/-me.speedscope.json")
    return p.parse_args(argv)


def main(argv=None) -> None:
    run_main(run_benchmark, parse_args(argv), "nginx and the platform were stopped")


if __name__ == "__main__":
    main()

"""Benchmark: what does the gateway cost, on this machine, against calling a service directly?

Starts the whole platform the way a user does (`python -m mercato up --no-seed`, in a temp
data dir, the gateway on a free port), then through the gateway's public API logs in as
the development admin, creates one product and reads every instance's address and pid from
GET /api/v1/ops/services. Variants, interleaved over --rounds rounds, median reported:

  (a) catalog read, direct:        GET <catalog>/api/v1/catalog/products/<id>     (baseline)
  (b) catalog read, via gateway:   the same path on the gateway (public route)
  (c) users/me, direct:            GET <identity>/api/v1/identity/users/me, admin bearer token
                                                                                   (baseline)
  (d) users/me, via gateway:       the same on the gateway, which verifies the token (cached
                                   per token until its exp) and then forwards it

Each measurement is a load generator in its own process (benchmarks/_load.py: aiohttp,
keep-alive, --concurrency connections, --warmup untimed seconds, then --duration timed
seconds). It reads the CPU time of the gateway and of the upstream service from
/proc/<pid>/stat at the edges of the timed window. Everything shares 2 cores with NATS, the
other services' heartbeats and the load generator, so "x direct" is the cost of the extra hop
under a CPU-bound load, and "µs/req" is the CPU each process spends per request. The load is
a closed loop (each connection sends its next request when the last one is answered): when
the service itself is the bottleneck (one event loop, one core), p50 is about connections /
req/s with or without the gateway, and the gateway's cost shows as CPU, not as latency. Run
with --concurrency 1 to see the latency one hop adds to an unloaded request.

--py-spy PREFIX additionally samples the gateway with py-spy during one more run of (b)
and (d), writes PREFIX-b.speedscope.json / PREFIX-d.speedscope.json and prints where its
CPU goes (by package, and the top functions by own and inclusive time).

The platform is stopped with SIGINT (its supervisor then stops the gateway, the services
and NATS) in a `finally` block, on SIGTERM and Ctrl-C too; it runs in its own session and
gets SIGINT from Linux if this script dies outright. At the end the script checks that no
process of its data dir is left and ends any that is, by pid.

Run:  python benchmarks/bench_gateway.py            (about 90 s)
      python benchmarks/bench_gateway.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from _load import Result, load_average, run_load
from _platform import HOST, Platform, add_platform_options, admin_setup, instance_of, log, run_main
from _profile import (
    count_samples,
    print_top_inclusive,
    py_spy_or_skip,
    run_wait_seconds,
    user_system_seconds,
)

PRODUCT = {
    "sku": "BENCH-1",
    "name": "Bench",
    "description": "x",
    "category": "bench",
    "price": 1000,
    "currency": "USD",
}


# --------------------------------------------------------------------------- output


def print_table(results: list[Result], baselines: list[int], args) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(
        title=f"Gateway cost, {args.concurrency} connections, {args.duration:g} s x "
        f"{args.rounds} rounds (median)",
        title_justify="left",
        caption_justify="left",
        caption="x direct = ratio vs the same request sent directly to the service ((b) vs "
        "(a), (d) vs (c); req/s: higher is better, latency: lower is better). +p50 = added "
        "latency at p50. spread = (max-min)/median of req/s over rounds. cpu s = CPU seconds "
        "used in the timed window by the gateway / the upstream service / the load generator; "
        "µs/req = that CPU per completed request. The load is a closed loop: when a service "
        "saturates, p50 ~ connections / req/s, so --concurrency 1 shows the latency per hop.",
    )
    table.add_column("variant", no_wrap=True)
    for head in ("req/s", "x direct", "p50 ms", "x direct", "+p50 ms", "p99 ms", "x direct",
                 "errors", "spread", "cpu s gw/up/load", "µs/req gw/up"):
        table.add_column(head, justify="right")

    def fmt(v: float | None, spec: str = ".2f") -> str:
        return "-" if v is None else format(v, spec)

    for i, r in enumerate(results):
        base = results[baselines[i]]
        rps, p50, p99 = r.median("rps"), r.median("p50_ms"), r.median("p99_ms")
        gw_s, up_s = r.median_cpu(0, "cpu_watched_s"), r.median_cpu(1, "cpu_watched_s")
        load_s = r.median("cpu_self") * args.duration
        done = rps * args.duration

        def per_req(seconds: float | None, done: float = done) -> str:
            return "-" if seconds is None or not done else f"{seconds / done * 1e6:,.0f}"

        errors = str(r.errors())
        if r.errors():
            errors += " " + ",".join(f"{k}:{v}" for k, v in sorted(r.error_kinds().items()))
        if i == baselines[i]:
            added = "-"
        else:
            added = f"{p50 - base.median('p50_ms'):+.2f}"
        table.add_row(
            r.label,
            f"{rps:,.0f}",
            f"{rps / base.median('rps'):.2f}",
            f"{p50:.2f}",
            f"{p50 / base.median('p50_ms'):.2f}",
            added,
            f"{p99:.2f}",
            f"{p99 / base.median('p99_ms'):.2f}",
            errors,
            f"{r.spread('rps'):.0%}",
            f"{fmt(gw_s)}/{fmt(up_s)}/{load_s:.2f}",
            f"{per_req(gw_s)}/{per_req(up_s)}",
            end_section=(i % 2 == 1),
        )
    console.print(table)


# --------------------------------------------------------------------------- profiling


def profile_gateway(exe: str, out: Path, gw_pid: int, url: str, headers: dict, args) -> None:
    """One more load run of `url`; py-spy samples the gateway during its timed part."""
    outcome: dict = {}

    def drive() -> None:
        try:
            outcome["load"] = run_load(url, concurrency=args.concurrency,
                                       duration=args.duration, warmup=args.warmup,
                                       watch_pids=[gw_pid], headers=headers)
        except Exception as exc:  # reported below
            outcome["error"] = exc

    driver = threading.Thread(target=drive)
    driver.start()
    time.sleep(args.warmup + 0.3)  # the load generator's start-up plus its warm-up
    seconds = max(1, int(args.duration - 0.5))
    spy = None
    cpu0, sched0 = user_system_seconds(gw_pid), run_wait_seconds(gw_pid)
    for native in (["--native"], []):  # native frames show syscalls, GC, C parsers
        spy = subprocess.run(
            [exe, "record", "-p", str(gw_pid), "-d", str(seconds), "-r", "100", "-o",
             str(out), "--format", "speedscope", *native],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        if spy.returncode == 0 or not driver.is_alive():
            break
        log(f"py-spy {' '.join(native)} failed: {spy.stderr.strip()[-300:]}; retrying")
    cpu1, sched1 = user_system_seconds(gw_pid), run_wait_seconds(gw_pid)
    driver.join()
    if "error" in outcome:
        raise outcome["error"]
    if spy.returncode != 0 or not out.exists():
        log(f"py-spy failed (exit {spy.returncode}): {spy.stderr.strip()[-500:]}")
        return
    load = outcome["load"]
    print(f"\npy-spy profile of the gateway (pid {gw_pid}) during GET "
          f"{url.split(HOST, 1)[1].split('/', 1)[1]}: {load['rps']:,.0f} req/s, gateway CPU "
          f"{fmt_cores(load['cpu_watched'][0])} cores (/proc); {seconds} s at 100 Hz -> {out}")
    if cpu0 and cpu1:
        user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
        print(f"  while sampled: gateway CPU user {user:.2f} s + system {system:.2f} s "
              f"({system / max(user + system, 1e-9):.0%} in the kernel)")
    if sched0 and sched1:
        print(f"  while sampled: its event-loop thread ran {sched1[0] - sched0[0]:.2f} s and "
              f"waited {sched1[1] - sched0[1]:.2f} s runnable for a CPU (/proc/<pid>/schedstat)"
              "; py-spy counts both as 'not idle'")
    summarize_speedscope(out)


def fmt_cores(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


# Parts of the gateway's work: the share of samples whose stack has a matching frame.
BUCKETS = [
    ("upstream call (Upstreams.forward)", lambda n, f: n == "Upstreams.forward"),
    ("  of which aiohttp ClientSession._request", lambda n, f: n == "ClientSession._request"),
    ("reply to client (uvicorn send)", lambda n, f: n == "RequestResponseCycle.send"),
    ("request parsing (httptools)", lambda n, f: n == "HttpToolsProtocol.data_received"),
    ("instance choice (Upstreams._candidates)", lambda n, f: n == "Upstreams._candidates"),
    ("token check (TokenVerifier.principal)", lambda n, f: n == "TokenVerifier.principal"),
    ("request id", lambda n, f: n in ("new_request_id", "valid_request_id")),
    ("tracing (OpenTelemetry)", lambda n, f: "opentelemetry" in f),
    ("metrics (prometheus_client)", lambda n, f: "prometheus_client" in f),
    ("garbage collector", lambda n, f: n.startswith("gc_collect")),
]
def summarize_speedscope(path: Path, top: int = 12) -> None:
    """Print where the sampled thread spent its time. py-spy calls a thread idle only when
    it waits for events; a thread that is runnable but waiting for a CPU (common on a
    saturated 2-core box) is sampled where the kernel took the CPU away, very often on the
    way out of a write() that woke the peer process. So samples whose innermost frame is a
    socket syscall or epoll are counted apart, and the breakdown uses the rest."""
    doc = json.loads(path.read_text())
    frames = doc["shared"]["frames"]
    total, running, own, incl, area_own, buckets, parked = count_samples(
        frames, doc["profiles"], BUCKETS)
    if not running:
        print("  (no samples)")
        return
    print(f"  {total:,} samples while not idle; {total - running:,} of them inside a syscall "
          "(" + ", ".join(f"{k} {v}" for k, v in parked.most_common()) + ": mostly waiting "
          f"for a CPU, see the schedstat line); shares below are of the other {running:,}")
    print("  innermost frame by where its code lives: " + ", ".join(
        f"{a} {w / running:.0%}" for a, w in area_own.most_common(10)))
    print("  parts of the work (inclusive): " + ", ".join(
        f"{label.strip()} {buckets[label] / running:.0%}" for label, _ in BUCKETS))
    print(f"  top {top} innermost Python functions (C code counts for its Python caller):")
    for name, w in own.most_common(top):
        print(f"    {w / running:6.1%}  {name}")
    print(f"  top {top} Python functions by inclusive time (the event loop's own frames left "
          "out):")
    print_top_inclusive(incl, running, top, 0.97, "    ")


# --------------------------------------------------------------------------- the run


def run_benchmark(args) -> None:
    import aiohttp
    import uvicorn

    sys.stdout.reconfigure(line_buffering=True)  # keeps stdout and stderr lines in order
    print(
        f"bench_gateway  python {platform.python_version()}  uvicorn {uvicorn.__version__}  "
        f"aiohttp {aiohttp.__version__}  cpus={os.cpu_count()}  "
        f"loadavg at start={load_average()}\n"
        f"concurrency={args.concurrency} duration={args.duration:g}s warmup={args.warmup:g}s "
        f"rounds={args.rounds}  platform: `python -m mercato up --no-seed` (NATS, 8 services, "
        "gateway)  load generator: aiohttp, own process"
    )
    plat = Platform.in_temp_dir("bench_gateway_")
    try:
        took = plat.start(args.ready_timeout)
        log(f"platform ready in {took:.1f}s, gateway {plat.url}, data dir {plat.data_dir}")
        gw = plat.url
        token, product, items = admin_setup(gw, PRODUCT)
        catalog, identity = instance_of(items, "catalog"), instance_of(items, "identity")
        gateway = instance_of(items, "gateway")
        auth = {"authorization": f"Bearer {token}"}
        product_path = f"/api/v1/catalog/products/{product['id']}"
        me_path = "/api/v1/identity/users/me"
        # label, url, headers, upstream instance, index of its baseline
        variants = [
            ("(a) catalog, direct", catalog["address"] + product_path, {}, catalog, 0),
            ("(b) catalog, via gateway", gw + product_path, {}, catalog, 0),
            ("(c) users/me, direct", identity["address"] + me_path, auth, identity, 2),
            ("(d) users/me, via gateway", gw + me_path, auth, identity, 2),
        ]
        print(f"gateway pid {gateway['pid']}  catalog pid {catalog['pid']} at "
              f"{catalog['address']}  identity pid {identity['pid']} at {identity['address']}  "
              f"version {gateway.get('version')}")
        for label, url, headers, _, _ in variants:  # every variant must answer 200 first
            req = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(req, timeout=10) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{label}: {url} answered {resp.status}")

        results = [Result(label) for label, *_ in variants]
        for rnd in range(args.rounds):
            for i, (label, url, headers, upstream, _) in enumerate(variants):
                results[i].runs.append(
                    run_load(
                        url,
                        concurrency=args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        watch_pids=[gateway["pid"], upstream["pid"]],
                        headers=headers,
                    )
                )
                log(f"  .. round {rnd + 1}/{args.rounds}: {label}: "
                    f"{results[i].runs[-1]['rps']:,.0f} req/s")
        print_table(results, [v[4] for v in variants], args)
        print(f"loadavg at end={load_average()}")

        if args.py_spy and (exe := py_spy_or_skip(log)):
            for tag, (_, url, headers, _, _) in (("b", variants[1]), ("d", variants[3])):
                out = Path(f"{args.py_spy}-{tag}.speedscope.json")
                profile_gateway(exe, out, gateway["pid"], url, headers, args)
    finally:
        plat.close(args.keep_data)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Measure the gateway's cost: start the platform with `mercato up "
        "--no-seed` in a temp data dir, then load a catalog read and an authenticated read "
        "(users/me) directly on the service and through the gateway, interleaved over "
        "rounds; print req/s, p50/p99 latency, errors, ratios vs direct, added latency and "
        "the CPU used by the gateway and the service. Everything is stopped at the end.",
    )
    p.add_argument("--concurrency", type=int, default=50,
                   help="concurrent keep-alive connections of the load generator (default 50)")
    p.add_argument("--duration", type=float, default=5.0,
                   help="timed seconds per variant per round (default 5)")
    p.add_argument("--warmup", type=float, default=1.0,
                   help="untimed seconds of load before each timed window (default 1)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds, variants interleaved; medians are reported (default 3)")
    add_platform_options(p)
    p.add_argument("--py-spy", metavar="PREFIX",
                   help="after the table, profile the gateway with py-spy during one more run "
                   "of (b) and (d); writes PREFIX-b.speedscope.json and PREFIX-d.speedscope.json "
                   "and prints where its CPU goes (needs py-spy; adds ~2 x (warmup+duration))")
    return p.parse_args(argv)


def main(argv=None) -> None:
    run_main(run_benchmark, parse_args(argv))


if __name__ == "__main__":
    main()

"""Benchmark: checkout throughput and latency of the whole platform, against a catalog read.

Starts the platform the way a user does (`python -m mercato up --no-seed`, temp data dir,
gateway on a free port, MERCATO_LOG_LEVEL=warning so logging stays out of the
measurement; every other setting, MERCATO_PROVIDER_TIMEOUT included, at its default).
Through the public API it logs in as the development admin, creates --products products
with ample stock and registers --customers customers (one access token each), reads every
instance's pid from GET /api/v1/ops/services and finds NATS's pid in /proc.

Variants, each a load generator in its own process (_checkout_load.py: aiohttp on uvloop),
interleaved over --rounds rounds:

  (a) read, open loop       GET /api/v1/catalog/products/<id> at --rate requests/s (baseline)
  (b) checkout, open loop   POST /api/v1/orders at --rate orders/s: 1 item, card tok_ok, a
                            fresh Idempotency-Key each, customers and products round robin
  (c) read, closed loop     --concurrency clients, each GETs again as soon as answered
                            (baseline of (d))
  (d) checkout, closed loop --concurrency clients, each places an order, waits until it is
                            confirmed, then places the next: the maximum confirmed orders/s

Open loop means sends follow the schedule whatever the answers: latency is measured from
the moment a request was due, so a queue in the platform (or in the client) shows in it.
Confirmation times come from the event stream, not from polling: the load process
subscribes to `mercato.orders.OrderConfirmed` and `...OrderCancelled` on the platform's
NATS (URL from <data dir>/run/state.json), so POST->confirmed is "due" to "the
OrderConfirmed event reached a subscriber" and costs the platform nothing extra. The
envelope's occurred_at (the confirming transaction) gives the relay's share of it.

After each checkout window the load process waits (up to --drain s) for every order it
placed to end confirmed or cancelled, and for a quiet second after that: when the platform
is overloaded the gateway answers 503 after its call timeout while orders still places the
order, so confirmations of orders the client never got an id for keep arriving ("placed
anyway"). An order still pending at the end counts as unconfirmed (an error) and as an
infinite latency. A sample of the window's orders is then read back through
GET /api/v1/ops/sagas/<id> (admin) to split the latency into the saga's steps. CPU seconds
of every process (gateway, each service, NATS, the `mercato up` supervisor and the load
generator) come from /proc/<pid>/stat at the edges of the timed window, and the time their
threads waited for a CPU from /proc/<pid>/task/*/schedstat (the box is shared: demand that
found no free core shows there). Logs written during the runs are counted, to show that
MERCATO_LOG_LEVEL=warning kept them out.

--py-spy PREFIX adds one more run of (d) (or (b), --profile-variant) with py-spy sampling
the orders process and the gateway (--py-spy-procs: any service) during its window,
writes PREFIX-<process>.speedscope.json and prints where each one's event loop spends its
time. --verify (on by default) runs `mercato verify --wait-idle 30` at the end: stock and
money conserved, nothing charged twice, nothing stuck, every event consumed.

The platform is stopped with SIGINT in a `finally` block (SIGTERM and Ctrl-C included)
and gets SIGINT from Linux if this script dies outright; any process of its data dir still
running afterwards is ended by pid (see _platform.Platform).

Both checkout modes run by default (--saga-mode), each on a platform of its own, and a
last table puts them side by side. --transport grpc|http|both chooses the saga's internal
transport (MERCATO_INTERNAL_TRANSPORT); with both, or with --baseline-src (an older tree,
run once per mode), a last table puts every run side by side: confirmed/s, CPU per
confirmed order in all and in orders, inventory and payments, POST->confirmed p50/p99 of
the closed loop and of the open loop at --rate.

Run:  python benchmarks/bench_checkout.py            (about 5 minutes; more when overloaded)
      python benchmarks/bench_checkout.py --help

The pieces live beside it: _checkout_setup.py (products, customers, variants, saga steps),
_checkout_load.py (the load process), _procfs.py (CPU and pids from /proc),
_checkout_report.py (the tables) and _checkout_profile.py (--py-spy).
"""


from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _checkout_load import child_entry, run_child
from _checkout_profile import profile_run
from _checkout_report import (
    fmt_ms,
    print_modes,
    print_phases,
    print_tables,
    print_trees,
    print_verdict,
)
from _checkout_setup import (
    SERVICES,
    VARIANTS,
    Setup,
    child_config,
    child_timeout,
    log,
    login,
    saga_phases,
)
from _load import load_average
from _platform import Platform, add_platform_options, call, instance_of, run_main
from _procfs import data_dir_pid, log_bytes, nats_pid, settle
from _profile import py_spy_or_skip


def run_benchmark(args) -> list[list[dict]]:
    """One platform: set up, run the variants over the rounds, print the tables (and the
    profile and `mercato verify`); returns the runs of each variant."""
    import aiohttp

    sys.stdout.reconfigure(line_buffering=True)
    os.environ["MERCATO_LOG_LEVEL"] = args.log_level  # inherited by `mercato up` and its children
    print(f"bench_checkout  python {platform.python_version()}  aiohttp {aiohttp.__version__}  "
          f"cpus={os.cpu_count()}  loadavg at start={load_average()}\n"
          f"rate={args.rate:g}/s concurrency={args.concurrency} duration={args.duration:g}s "
          f"read-duration={args.read_duration:g}s warmup={args.warmup:g}s rounds={args.rounds} "
          f"products={args.products} customers={args.customers}  platform: `python -m mercato "
          f"up --no-seed`, MERCATO_LOG_LEVEL={args.log_level}, MERCATO_PROVIDER_TIMEOUT="
          f"{os.environ.get('MERCATO_PROVIDER_TIMEOUT', 'default')}  load generator: aiohttp + "
          "nats-py, own process")
    plat = Platform.in_temp_dir("bench_checkout_")
    data_dir = plat.data_dir
    summary: list[list[dict]] = []
    try:
        took = plat.start(args.ready_timeout)
        log(f"platform ready in {took:.1f}s, gateway {plat.url}, data dir {data_dir}")
        nats_url = json.loads((Path(data_dir) / "run" / "state.json").read_text())["nats_url"]
        setup = Setup(plat.url, args)
        setup.nats_login = login(Path(data_dir))  # watches the orders stream as `cli`
        t0 = time.monotonic()
        setup.run()
        setup.smoke()
        log(f"set up {args.products} products x {args.stock:,} stock and {args.customers} "
            f"customers, one order confirmed end to end, in {time.monotonic() - t0:.1f}s")
        items = call("GET", f"{plat.url}/api/v1/ops/services", token=setup.admin)["items"]
        watch = {s: int(instance_of(items, s)["pid"]) for s in SERVICES}
        npid = nats_pid(data_dir)
        if npid:
            watch["nats"] = npid
        if tpid := data_dir_pid(data_dir, b"serve\0traces\0"):
            watch["traces"] = tpid
        watch["up"] = plat.proc.pid
        print("pids: " + "  ".join(f"{k} {v}" for k, v in watch.items()))

        results: list[list[dict]] = [[] for _ in VARIANTS]
        phases: dict[str, dict[str, list[float]]] = {VARIANTS[1][0]: {}, VARIANTS[3][0]: {}}
        logged = 0
        for rnd in range(args.rounds):
            for i, (label, kind, mode, _) in enumerate(VARIANTS):
                if label[1] not in args.variants:
                    continue
                setup.fresh()
                cfg = child_config(kind, mode, args, setup, nats_url, watch)
                before = log_bytes(data_dir)
                run = run_child(cfg, child_timeout(cfg))
                logged += log_bytes(data_dir) - before
                results[i].append(run)
                extra = ""
                if kind == "checkout":
                    extra = (f", ->confirmed p50 {fmt_ms(run['conf_p50_ms'])} ms p99 "
                             f"{fmt_ms(run['conf_p99_ms'])} ms, drain {run['drain_s']:.1f}s")
                    log(f"  .. {label}: load process done; reading the sample's sagas")
                    got = saga_phases(plat.url, setup.admin, run.pop("sample"))
                    for name, vals in got.items():
                        phases[label].setdefault(name, []).extend(vals)
                waited = settle(watch) if kind == "checkout" else 0.0
                log(f"  .. round {rnd + 1}/{args.rounds}: {label}: {run['done_rps']:,.1f}/s "
                    f"done, errors {sum(run['errors'].values())}{extra}; platform quiet "
                    f"{waited:.1f}s later")
        print_tables(results, args)
        print_phases(phases)
        summary = results
        print_verdict(results, args)
        print(f"log output of all processes during the runs: {logged:,} bytes "
              f"(MERCATO_LOG_LEVEL={args.log_level})")
        print(f"loadavg at end={load_average()}")

        if args.py_spy and (exe := py_spy_or_skip(log)):
            setup.fresh()
            profile_run(exe, args, setup, nats_url, watch)
        if args.verify:
            env = dict(os.environ, MERCATO_DATA_DIR=data_dir)
            done = subprocess.run([sys.executable, "-m", "mercato", "verify", "--wait-idle",
                                   "30"], env=env, capture_output=True, text=True, timeout=120)
            lines = (done.stdout + done.stderr).strip().splitlines()
            print(f"\n`mercato verify --wait-idle 30` after the runs: exit {done.returncode}")
            for line in lines[-12:]:
                print(f"  {line}")
    finally:
        plat.close(args.keep_data, say=log)
    return summary


def parse_args(argv=None) -> argparse.Namespace:
    """The command line (see --help)."""
    p = argparse.ArgumentParser(
        description="Checkout throughput and latency: start the platform with `mercato up "
        "--no-seed` in a temp data dir, create products, stock and customers, then place "
        "orders (tok_ok, 1 item) through the gateway at a fixed rate (open loop) and with N "
        "clients (closed loop), each against a catalog read at the same load; print "
        "confirmed orders/s, POST and POST->confirmed latency, errors and the CPU of every "
        "process. Everything is stopped at the end.")
    p.add_argument("--rate", type=float, default=200.0,
                   help="offered orders (and reads) per second of the open loop (default 200)")
    p.add_argument("--concurrency", type=int, default=50,
                   help="clients of the closed loop (default 50)")
    p.add_argument("--duration", type=float, default=20.0,
                   help="timed seconds of each checkout variant (default 20)")
    p.add_argument("--read-duration", type=float, default=6.0,
                   help="timed seconds of each read variant (default 6)")
    p.add_argument("--warmup", type=float, default=2.0,
                   help="untimed seconds of load before each window (default 2)")
    p.add_argument("--drain", type=float, default=60.0,
                   help="seconds to wait after a checkout window for every order to end (and "
                   "for orders whose POST failed to stop being confirmed); also a closed-loop "
                   "client's wait for one order (default 60)")
    p.add_argument("--rounds", type=int, default=1,
                   help="rounds, variants interleaved; medians are reported (default 1)")
    p.add_argument("--variants", default="abcd",
                   help="which variants to run, e.g. 'bd' (default abcd)")
    p.add_argument("--products", type=int, default=20, help="products (default 20)")
    p.add_argument("--stock", type=int, default=1_000_000,
                   help="stock of each product (default 1,000,000)")
    p.add_argument("--customers", type=int, default=20,
                   help="customers, one token each, used round robin (default 20)")
    p.add_argument("--max-connections", type=int, default=1000,
                   help="the load generator's connection limit (default 1000)")
    p.add_argument("--saga-sample", type=int, default=100,
                   help="orders per checkout run whose saga steps are read back (default 100)")
    p.add_argument("--log-level", default="warning",
                   help="MERCATO_LOG_LEVEL of the platform (default warning)")
    add_platform_options(p)
    p.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                   help="run `mercato verify --wait-idle 30` at the end (default on)")
    p.add_argument("--py-spy", metavar="PREFIX",
                   help="after the tables, one more checkout run with py-spy sampling the "
                   "orders process and the gateway (--py-spy-procs); writes "
                   "PREFIX-<process>.speedscope.json and prints where their time goes")
    p.add_argument("--py-spy-procs", default="orders,gateway",
                   help="with --py-spy: comma-separated processes to sample, any of "
                   f"{','.join(SERVICES)} (default orders,gateway)")
    p.add_argument("--py-spy-native", action="store_true",
                   help="with --py-spy: sample native frames too (SQLite, GC, syscalls). py-spy "
                   "then pauses the process for every sample and unwinds each of its threads "
                   "(orders runs about 40: anyio's pool for FastAPI's sync dependencies), which "
                   "slowed orders several-fold here; the default is --nonblocking, Python frames "
                   "only, where C code counts for its Python caller")
    p.add_argument("--profile-variant", choices=("b", "d"), default="d",
                   help="with --py-spy: profile during (b) open loop or (d) closed loop "
                   "(default d: the platform at its maximum without an overload's timeouts)")
    p.add_argument("--profile-seconds", type=float, default=12.0,
                   help="timed seconds of the --py-spy run (default 12)")
    p.add_argument("--saga-mode", choices=("orchestration", "choreography", "both"),
                   default="both", help="checkout mode(s) to run, each on its own platform, "
                   "one after the other (default both, compared in a last table)")
    p.add_argument("--transport", choices=("http", "grpc", "both"), default="http",
                   help="MERCATO_INTERNAL_TRANSPORT of the runs: the saga's commands and the "
                   "catalog lookup over HTTP or gRPC (default http, the platform's; both: one "
                   "platform each, compared in a last table)")
    p.add_argument("--baseline-src", metavar="DIR",
                   help="also run a baseline source tree (e.g. a `git worktree` of an older "
                   "commit): each mode runs on DIR/src first, then on this tree, and a last "
                   "table compares them (confirmed/s, CPU per order)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def run_modes(args) -> None:
    """`run_benchmark` for each saga mode, internal transport and source tree, each on its
    own platform, then the tables that compare them. A baseline tree runs once per mode
    (a tree from before gRPC knows no transport)."""
    modes = ["orchestration", "choreography"] if args.saga_mode == "both" else [args.saga_mode]
    transports = ["http", "grpc"] if args.transport == "both" else [args.transport]
    trees = [("this tree", str(Path(__file__).resolve().parent.parent / "src"))]
    if args.baseline_src:
        src = Path(args.baseline_src).resolve() / "src"
        if not (src / "mercato" / "__init__.py").is_file():
            # else PYTHONPATH would name nothing and the installed tree (this one) would run
            # as the "baseline"
            raise SystemExit(f"--baseline-src {args.baseline_src}: no {src}/mercato; give "
                             "the root of a Mercato tree, e.g. a `git worktree`")
        trees.insert(0, ("baseline", str(src)))
    by_mode, by_tree = {}, {}
    for mode in modes:
        os.environ["MERCATO_SAGA_MODE"] = mode  # inherited by `mercato up`
        for tree, src in trees:
            for transport in transports[:1] if tree == "baseline" else transports:
                os.environ["MERCATO_INTERNAL_TRANSPORT"] = transport
                # ahead of any installed mercato, for `mercato up` and its children
                os.environ["PYTHONPATH"] = src
                label = mode if tree == "baseline" else f"{mode}, {transport}"
                print(f"\n===== MERCATO_SAGA_MODE={mode}, MERCATO_INTERNAL_TRANSPORT="
                      f"{transport}, {tree} (PYTHONPATH={src}) =====")
                by_tree[(label, tree)] = by_mode[mode] = run_benchmark(args)
    os.environ.pop("PYTHONPATH", None)
    if len(by_mode) > 1 and not args.baseline_src and len(transports) == 1:
        print_modes(by_mode)
    if args.baseline_src or len(transports) > 1:
        print_trees(by_tree)


def main(argv=None) -> None:
    """Run the benchmark, or with --child be the load process."""
    args = parse_args(argv)
    if args.child:
        child_entry()
        return
    run_main(run_modes, args, say=log)


if __name__ == "__main__":
    main()

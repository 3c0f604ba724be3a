"""Benchmark: what tracing costs the checkout and the gateway's read.

Runs bench_checkout's closed-loop variants — (c) a catalog read through the gateway and
(d) the checkout, N clients each placing an order and waiting until it is confirmed — on a
fresh platform (`mercato up --no-seed`, orchestration unless --saga-mode) per tracing
setting, one after the other, --repeat times round:

  off          OTEL_SDK_DISABLED=true: the API's no-op provider, no ids, nothing recorded
  ids only     OTEL_TRACES_SAMPLER=always_off: ids made and propagated, nothing recorded
               (what a process run by hand, with no endpoint, does)
  10 %         OTEL_TRACES_SAMPLER=parentbased_traceidratio, ARG 0.1, to the embedded store
  100 %        the default of `mercato up`: every span to the embedded store

CPU is summed over every process (the services, the gateway, NATS, the trace store, the
supervisor and the load generator), from /proc at the edges of each timed window, and
divided by the operations done. The last table gives each setting as a ratio to "off".
Everything else (per-process tables, latencies, `mercato verify`) is bench_checkout's.

Run:  python benchmarks/bench_tracing.py              (about 5 minutes)
      python benchmarks/bench_tracing.py --help
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import bench_checkout
from _platform import run_main

SETTINGS = {
    "off": {"OTEL_SDK_DISABLED": "true"},
    "ids only": {"OTEL_TRACES_SAMPLER": "always_off"},
    "10 %": {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
             "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "100 %": {},
}
OWN = ("OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG")


def parse_args(argv=None) -> tuple[argparse.Namespace, argparse.Namespace]:
    p = argparse.ArgumentParser(
        description="Tracing's cost: bench_checkout's (c) read and (d) checkout closed loops "
        "on a fresh platform per tracing setting (off, ids only, 10 %%, 100 %% sampling), "
        "then throughput and CPU per operation as ratios to 'off'.")
    p.add_argument("--settings", default=",".join(SETTINGS),
                   help="comma-separated, any of: %(default)s")
    p.add_argument("--repeat", type=int, default=1,
                   help="times round all the settings, a fresh platform each (default 1)")
    p.add_argument("--concurrency", type=int, default=50, help="clients (default 50)")
    p.add_argument("--duration", type=float, default=15.0,
                   help="timed seconds of the checkout window (default 15)")
    p.add_argument("--read-duration", type=float, default=6.0,
                   help="timed seconds of the read window (default 6)")
    p.add_argument("--saga-mode", choices=("orchestration", "choreography"),
                   default="orchestration", help="checkout mode (default orchestration)")
    p.add_argument("--verify", action=argparse.BooleanOptionalAction, default=False,
                   help="run `mercato verify` after each platform's runs (default off)")
    own = p.parse_args(argv)
    unknown = set(own.settings.split(",")) - set(SETTINGS)
    if unknown:
        p.error(f"unknown --settings {sorted(unknown)}; choose from {list(SETTINGS)}")
    checkout = bench_checkout.parse_args([
        "--variants", "cd", "--concurrency", str(own.concurrency),
        "--duration", str(own.duration), "--read-duration", str(own.read_duration),
        "--saga-mode", own.saga_mode, "--verify" if own.verify else "--no-verify"])
    return own, checkout


def per_op_ms(runs: list[dict], proc: str | None = None) -> float | None:
    """Median CPU ms per operation done, of one process or (None) of all of them."""
    vals = []
    for r in runs:
        if not r["done_rps"]:
            continue
        cpu = (sum(v for v in r["cpu_s"].values() if v is not None) if proc is None
               else r["cpu_s"].get(proc))
        if cpu is not None:
            vals.append(cpu / (r["done_rps"] * r["duration"]) * 1e3)
    return statistics.median(vals) if vals else None


def print_summary(by_setting: dict[str, list[list[dict]]], concurrency: int) -> None:
    def med(runs: list[dict], key: str) -> float | None:
        vals = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def ratio(v: float | None, base: float | None) -> str:
        return f"{v / base:.2f}" if v and base else "-"

    def num(v: float | None, fmt: str = ",.1f") -> str:
        return "-" if v is None else format(v, fmt)

    rows = {}
    for name, results in by_setting.items():
        reads, orders = results[2], results[3]
        rows[name] = (med(reads, "done_rps"), per_op_ms(reads), med(orders, "done_rps"),
                      per_op_ms(orders), per_op_ms(orders, "traces"),
                      med(orders, "conf_p50_ms"))
    base = rows.get("off") or next(iter(rows.values()))
    print(f"\nTracing's cost, closed loops of {concurrency} clients (medians over --repeat; "
          "CPU over every process, the trace store included)")
    print("| setting | (c) reads/s | x off | CPU ms/read | x off | (d) confirmed/s | x off "
          "| CPU ms/order | x off | of which trace store | (d) p50 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (rps, rcpu, ops, ocpu, store, p50) in rows.items():
        print(f"| {name} | {num(rps)} | {ratio(rps, base[0])} | {num(rcpu, '.3f')} "
              f"| {ratio(rcpu, base[1])} | {num(ops)} | {ratio(ops, base[2])} "
              f"| {num(ocpu, '.2f')} | {ratio(ocpu, base[3])} | {num(store, '.2f')} "
              f"| {num(p50, ',.0f')} |")


def run(pair) -> None:
    own, args = pair
    names = own.settings.split(",")
    merged: dict[str, list[list[dict]]] = {n: [[] for _ in range(4)] for n in names}
    os.environ["MERCATO_SAGA_MODE"] = own.saga_mode
    for round_ in range(own.repeat):
        for name in names:
            for key in OWN:
                os.environ.pop(key, None)
            os.environ.update(SETTINGS[name])  # inherited by `mercato up` and its children
            print(f"\n===== tracing {name} (round {round_ + 1}/{own.repeat}): "
                  f"{SETTINGS[name] or 'mercato up defaults'} =====")
            for i, runs in enumerate(bench_checkout.run_benchmark(args) or [[]] * 4):
                merged[name][i].extend(runs)
    print_summary(merged, own.concurrency)


def main(argv=None) -> None:
    own, args = parse_args(argv)  # bench_checkout's load generator is _checkout_load.py
    run_main(run, (own, args), say=bench_checkout.log)


if __name__ == "__main__":
    sys.exit(main())

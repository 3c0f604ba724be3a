"""Benchmark: the storefront's pages against the JSON API they are made from, same run.

Starts the platform the way a user does (`python -m mercato up --no-seed`, temp data dir,
free port), creates 8 products with stock as the admin, registers one shopper with two
products in the cart, then loads, interleaved over --rounds rounds (median reported):

  (a) JSON product read     GET /api/v1/catalog/products/<id>        (baseline: one hop)
  (b) JSON product list     GET /api/v1/catalog/products?limit=8     (what the home lists)
  (c) home page             GET /                 catalog list + categories, rendered
  (d) product page          GET /products/<id>    catalog + inventory, rendered
  (e) cart page             GET /cart             the shopper's cookie; cart (which asks
                                                  catalog for prices), rendered
  (f) JSON cart read        GET /api/v1/cart      what (e) is made from (bearer token)

Every request goes through the gateway; pages call the JSON API in process (docs/web.md),
so a page costs its API calls plus the rendering. The load generator (benchmarks/_load.py,
aiohttp, keep-alive, own process) accepts gzip like a browser, so pages come compressed.
The issue's target: pages >= 50 % of (a)'s throughput, p95 <= 100 ms, at 20 connections.
CPU per request: the gateway's (where pages render) and catalog's + inventory's + cart's.

Run:  python benchmarks/bench_pages.py            (about 2 minutes)
      MERCATO_CART_PRICE_TTL=0 python benchmarks/bench_pages.py
                                                  (the cart asks the catalog every time:
                                                  the baseline of its price cache)
      python benchmarks/bench_pages.py --help
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import urllib.request
import uuid

from _load import Result, load_average, run_load
from _platform import (
    Platform,
    add_platform_options,
    admin_setup,
    call,
    instance_of,
    log,
    run_main,
)

PRODUCT = {"sku": "BENCH-PAGE-0", "name": "Benchmark mug", "description": "A mug to load.",
           "category": "kitchen", "price": 1299, "currency": "USD"}
CATEGORIES = ("kitchen", "books", "home", "apparel")


def seed(gw: str) -> tuple[str, dict, dict[str, dict], str]:
    """Admin token, the loaded product, every instance by service, a shopper's token."""
    token, product, items = admin_setup(gw, PRODUCT)
    ids = [product["id"]]
    for i in range(1, 8):
        made = call("POST", f"{gw}/api/v1/catalog/products", {
            **PRODUCT, "sku": f"BENCH-PAGE-{i}", "name": f"Benchmark item {i}",
            "category": CATEGORIES[i % 4], "price": 1000 + i * 250}, token)
        ids.append(made["id"])
    for pid in ids:
        call("POST", f"{gw}/api/v1/inventory/stock/{pid}/adjustments",
             {"delta": 100, "reason": "benchmark"}, token)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    call("POST", f"{gw}/api/v1/identity/users",
         {"email": email, "password": "bench-password", "name": "Bench Shopper"})
    shopper = call("POST", f"{gw}/api/v1/identity/token",
                   {"email": email, "password": "bench-password"})["access_token"]
    for pid in ids[:2]:
        call("PUT", f"{gw}/api/v1/cart/items/{pid}", {"quantity": 2}, shopper)
    services = {s: instance_of(items, s) for s in ("gateway", "catalog", "inventory", "cart")}
    return token, product, services, shopper


def print_table(results: list[Result], args) -> None:
    base = results[0].median("rps")
    print(f"\n{'variant':<24}{'req/s':>9}{'x (a)':>8}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'p99 ms':>9}{'errors':>8}{'gw µs/req':>11}{'svc µs/req':>12}{'spread':>8}")
    for r in results:
        rps = r.median("rps")
        gw_cpu = r.median_cpu(0)
        per_req = f"{gw_cpu / rps * 1e6:,.0f}" if gw_cpu is not None and rps else "n/a"
        svc = [r.median_cpu(i) for i in (1, 2, 3)]  # catalog, inventory, cart
        svc_req = (f"{sum(c for c in svc if c) / rps * 1e6:,.0f}" if rps and any(svc)
                   else "n/a")
        print(f"{r.label:<24}{rps:>9,.0f}{rps / base:>8.2f}{r.median('p50_ms'):>9.1f}"
              f"{r.median('p95_ms'):>9.1f}{r.median('p99_ms'):>9.1f}{r.errors():>8}"
              f"{per_req:>11}{svc_req:>12}{r.spread('rps'):>8.0%}")
    print(f"(medians of {args.rounds} rounds, {args.concurrency} connections, "
          f"{args.duration:g} s each; spread = (max-min)/median of req/s over rounds)")


def run_benchmark(args) -> None:
    sys.stdout.reconfigure(line_buffering=True)
    print(f"bench_pages  python {platform.python_version()}  cpus={os.cpu_count()}  "
          f"loadavg at start={load_average()}\nconcurrency={args.concurrency} "
          f"duration={args.duration:g}s warmup={args.warmup:g}s rounds={args.rounds}")
    plat = Platform.in_temp_dir("bench_pages_")
    try:
        took = plat.start(args.ready_timeout)
        log(f"platform ready in {took:.1f}s, gateway {plat.url}")
        gw = plat.url
        _token, product, services, shopper = seed(gw)
        cookie = {"cookie": f"mercato_access={shopper}"}
        variants = [
            ("(a) JSON product read", f"/api/v1/catalog/products/{product['id']}", {}),
            ("(b) JSON product list", "/api/v1/catalog/products?limit=8", {}),
            ("(c) home page", "/", {}),
            ("(d) product page", f"/products/{product['id']}", {}),
            ("(e) cart page", "/cart", cookie),
            ("(f) JSON cart read", "/api/v1/cart", {"authorization": f"Bearer {shopper}"}),
        ]
        pids = [services[s]["pid"] for s in ("gateway", "catalog", "inventory", "cart")]
        for label, path, headers in variants:  # each must answer 200 before it is loaded
            with urllib.request.urlopen(urllib.request.Request(gw + path, headers=headers),
                                        timeout=10) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{label}: {path} answered {resp.status}")
        results = [Result(label) for label, _, _ in variants]
        for rnd in range(args.rounds):
            for result, (label, path, headers) in zip(results, variants, strict=True):
                result.runs.append(run_load(gw + path, concurrency=args.concurrency,
                                            duration=args.duration, warmup=args.warmup,
                                            watch_pids=pids, headers=headers))
                log(f"  .. round {rnd + 1}/{args.rounds}: {label}: "
                    f"{result.runs[-1]['rps']:,.0f} req/s")
        print_table(results, args)
        print(f"loadavg at end={load_average()}")
    finally:
        plat.close(args.keep_data)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(
        "Load the storefront's home, product and cart pages through the gateway next to the "
        "JSON catalog reads they are made from, interleaved over rounds, and print req/s, "
        "p50/p95/p99, errors and the gateway's CPU per request."))
    p.add_argument("--concurrency", type=int, default=20,
                   help="concurrent keep-alive connections (default 20)")
    p.add_argument("--duration", type=float, default=5.0,
                   help="timed seconds per variant per round (default 5)")
    p.add_argument("--warmup", type=float, default=1.0,
                   help="untimed seconds before each timed window (default 1)")
    p.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    add_platform_options(p)
    return p.parse_args(argv)


def main(argv=None) -> None:
    run_main(run_benchmark, parse_args(argv))


if __name__ == "__main__":
    main()

"""Micro-benchmark: ariadne against strawberry for the mobile BFF's GraphQL (issue 16 §3).

The same query (an order with its lines' products, its shipment and its notifications,
plus the cart and its products) over the same per-request DataLoaders (the BFF's own,
bff/mobile/loaders.py) and the same canned services (an ``await`` per call, no network),
so what differs is the GraphQL layer alone. Variants, interleaved over --rounds rounds,
median queries per second and CPU per query:

  (a) plain composition     no GraphQL: the loaders called and the answer built by hand
                            (the baseline: what any GraphQL layer adds is on top of it)
  (b) ariadne, as run       the BFF's MobileGraphQL: depth, token and alias limits, the
                            call budget, parse and validation cached (bff/mobile/limits.py)
  (c) ariadne, bare         the BFF's schema through ``ariadne.graphql``, nothing else
  (d) strawberry, as run    the BFF's former configuration (_graphql_strawberry.py): the
                            limits as strawberry extensions, its ParserCache and
                            ValidationCache
  (e) strawberry, bare      the same strawberry schema without the extensions

Every variant's answer is checked equal to the plain one's before it is timed.

Run:  python benchmarks/bench_graphql.py          (about 20 s with the defaults)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import _graphql_strawberry
import ariadne
from _load import OverRounds, load_average
from rich.console import Console
from rich.table import Table

from mercato.bff.mobile.graphql import Context, Limits, MobileGraphQL
from mercato.bff.mobile.loaders import Loaders
from mercato.bff.mobile.schema import build_schema
from mercato.bff.mobile.shaping import cart_item_count, timeline

QUERY = """
query Order($id: ID!) {
  order(id: $id) {
    id status total
    timeline { status at }
    items { quantity product { id name price } }
    shipment { status trackingNumber }
    notifications { subject }
  }
  cart { itemCount items { product { name } } }
}"""
LINES = 5
PRODUCTS = {f"p-{i}": {"id": f"p-{i}", "name": f"Product {i}", "price": 100 * i,
                       "currency": "USD", "category": "c"} for i in range(LINES)}
ORDER = {"id": "o-1", "status": "confirmed", "total": 1000, "currency": "USD",
         "created_at": "t0", "items": [{"product_id": p, "name": p, "quantity": 1,
                                        "unit_price": 100} for p in PRODUCTS],
         "history": [{"status": s, "at": f"t{i}", "reason": None}
                     for i, s in enumerate(("pending", "confirmed"))]}
CART = {"items": [{"product_id": p, "quantity": 2, "unit_price": 100} for p in PRODUCTS],
        "total": 1000, "currency": "USD"}


class CannedServices:
    async def json(self, service: str, method: str, path: str, body: Any = None) -> Any:
        await asyncio.sleep(0)
        if service == "catalog":
            return {"products": {i: PRODUCTS[i] for i in body["ids"]}}
        if service == "orders":
            return ORDER
        if service == "cart":
            return CART
        if service == "shipping":
            return {"items": [{"id": "s-1", "status": "shipped", "tracking_number": "T"}]}
        return {"items": [{"id": "n-1", "kind": "k", "subject": "Confirmed",
                           "created_at": "t", "order_id": "o-1"}]}


async def plain(loaders: Loaders) -> dict:
    order, cart = await asyncio.gather(loaders.orders.load("o-1"), loaders.cart.load("me"))
    ids = [i["product_id"] for i in order["items"]] + [i["product_id"] for i in cart["items"]]
    products, shipments, notes = await asyncio.gather(
        loaders.products.load_many(ids), loaders.shipments.load(order["id"]),
        loaders.notifications.load(order["id"]))
    by_id = {p["id"]: p for p in products}
    s = shipments[-1]
    return {"data": {
        "order": {"id": order["id"], "status": order["status"], "total": order["total"],
                  "timeline": [{"status": t["status"], "at": t["at"]} for t in timeline(order)],
                  "items": [{"quantity": i["quantity"], "product": {
                      k: by_id[i["product_id"]][k] for k in ("id", "name", "price")}}
                      for i in order["items"]],
                  "shipment": {"status": s["status"], "trackingNumber": s["tracking_number"]},
                  "notifications": [{"subject": n["subject"]} for n in notes]},
        "cart": {"itemCount": cart_item_count(cart),
                 "items": [{"product": {"name": by_id[i["product_id"]]["name"]}}
                           for i in cart["items"]]}}}


@dataclass
class Variant(OverRounds):
    """One variant's rounds: ``{"qps": ..., "cpu_us": ...}`` each."""

    runs: list[dict] = field(default_factory=list)


async def rate(run, seconds: float) -> tuple[float, float]:
    """(queries per wall second, CPU µs per query): the CPU figure is this process's own,
    so it moves less than the wall one when others' tests share the cores."""
    done, started, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(20):
            answer = await run()
            assert "errors" not in answer, answer
        done += 20
    return done / elapsed, (time.process_time() - cpu) / done * 1e6


async def measure(seconds: float) -> dict[str, tuple[float, float]]:
    services = CannedServices()
    limits = Limits()
    as_run, bare_ariadne = MobileGraphQL(limits), build_schema()
    straw_as_run = _graphql_strawberry.as_run(limits)
    straw_bare = _graphql_strawberry.bare()
    variables = {"id": "o-1"}

    async def run_plain():
        return await plain(Loaders(services))

    async def run_as_run():
        return (await as_run.run(services, QUERY, variables, None, None))[1]

    async def run_ariadne_bare():
        return (await ariadne.graphql(bare_ariadne, {"query": QUERY, "variables": variables},
                                      context_value=Context(Loaders(services))))[1]

    def strawberry(schema):
        async def run():
            result = await schema.execute(QUERY, variable_values=variables,
                                          context_value=Context(Loaders(services)))
            answer: dict[str, Any] = {"data": result.data}
            if result.errors:
                answer["errors"] = [e.formatted for e in result.errors]
            return answer
        return run

    variants = {"(a) plain composition": run_plain, "(b) ariadne, as run": run_as_run,
                "(c) ariadne, bare": run_ariadne_bare,
                "(d) strawberry, as run": strawberry(straw_as_run),
                "(e) strawberry, bare": strawberry(straw_bare)}
    answers = [await v() for v in variants.values()]
    assert all(a == answers[0] for a in answers), answers
    return {name: await rate(v, seconds) for name, v in variants.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.5, help="per variant and round")
    args = parser.parse_args()
    err = Console(stderr=True)
    print(f"bench_graphql  ariadne {version('ariadne')}  strawberry "
          f"{version('strawberry-graphql')}  graphql-core {version('graphql-core')}  "
          f"aiodataloader {version('aiodataloader')}  loadavg at start={load_average()}  "
          f"lines={LINES}  rounds={args.rounds} x {args.seconds:g} s per variant")
    variants: dict[str, Variant] = {}
    for r in range(args.rounds):
        err.print(f"round {r + 1}/{args.rounds}")
        for name, (qps, cpu) in asyncio.run(measure(args.seconds)).items():
            variants.setdefault(name, Variant()).runs.append({"qps": qps, "cpu_us": cpu})
    base = variants["(a) plain composition"]
    table = Table(title="One order with its products, shipment and notifications, plus the "
                        "cart (median of rounds)")
    for column in ("variant", "queries/s", "x plain", "CPU µs/query", "x plain CPU",
                   "spread"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for name, v in variants.items():
        table.add_row(name, f"{v.median('qps'):,.0f}",
                      f"{v.median('qps') / base.median('qps'):.2f}",
                      f"{v.median('cpu_us'):,.0f}",
                      f"{v.median('cpu_us') / base.median('cpu_us'):.1f}",
                      f"{v.spread('qps'):.0%}")
    Console(width=110).print(table)
    ours, theirs = variants["(b) ariadne, as run"], variants["(d) strawberry, as run"]
    ratio = ours.median("cpu_us") / theirs.median("cpu_us")
    print(f"as run, ariadne's CPU per query is {ratio:.2f}x strawberry's")
    print(f"loadavg at end={load_average()}")


if __name__ == "__main__":
    main()

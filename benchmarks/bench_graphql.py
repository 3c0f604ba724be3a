"""Micro-benchmark: strawberry against ariadne for the mobile BFF's GraphQL (issue 16 §3).

The same query (an order with its lines' products, its shipment and its notifications,
plus the cart and its products) over the same per-request DataLoaders (the BFF's own,
bff/mobile/loaders.py) and the same canned services (an ``await`` per call, no network),
so what differs is the GraphQL layer alone. Variants, interleaved over --rounds rounds,
median queries per second:

  (a) plain composition     no GraphQL: the loaders called and the answer built by hand
                            (the baseline: what any GraphQL layer adds is on top of it)
  (b) strawberry, as run    the BFF's MobileGraphQL: depth, token and alias limits on
  (c) strawberry, bare      the same schema without the extensions
  (d) ariadne, bare         the same schema in SDL with resolvers bound to it
  (e) ariadne, cached       (d) with a memoized parser and validator, as ariadne documents
                            them (the fair match for (b), whose caches are strawberry's)

Run:  python benchmarks/bench_graphql.py          (about 20 s with the defaults)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from functools import lru_cache
from importlib.metadata import version
from typing import Any

import ariadne
import strawberry
from graphql import parse as graphql_parse
from graphql import validate as graphql_validate
from rich.console import Console
from rich.table import Table

from mercato.bff.mobile.graphql import Context, Limits, MobileGraphQL
from mercato.bff.mobile.loaders import Loaders
from mercato.bff.mobile.schema import Query
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


def ariadne_schema(sdl: str):
    """The strawberry schema's SDL, with resolvers that read the same loaders."""
    query, order, line, cart, cart_line = (ariadne.QueryType(), ariadne.ObjectType("Order"),
                                           ariadne.ObjectType("OrderLine"),
                                           ariadne.ObjectType("Cart"),
                                           ariadne.ObjectType("CartLine"))

    @query.field("order")
    async def resolve_order(_, info, id):
        return await info.context.loaders.orders.load(id)

    @query.field("cart")
    async def resolve_cart(_, info):
        return await info.context.loaders.cart.load("me")

    order.set_field("timeline", lambda o, _info: timeline(o))

    @order.field("shipment")
    async def resolve_shipment(o, info):
        found = await info.context.loaders.shipments.load(o["id"])
        s = found[-1]
        return {"id": s["id"], "status": s["status"], "trackingNumber": s["tracking_number"]}

    @order.field("notifications")
    async def resolve_notes(o, info):
        return await info.context.loaders.notifications.load(o["id"])

    async def resolve_product(item, info):
        return await info.context.loaders.products.load(item["product_id"])

    line.set_field("product", resolve_product)
    cart_line.set_field("product", resolve_product)
    cart.set_field("itemCount", lambda c, _info: cart_item_count(c))
    return ariadne.make_executable_schema(sdl, query, order, line, cart, cart_line)


@lru_cache(maxsize=256)
def parsed(query: str):
    return graphql_parse(query)


def cached_parser(_context, data: dict):
    return parsed(data["query"])


_validated: dict[int, list] = {}  # by the id of a document the parser's cache keeps


def cached_validator(schema, document_ast, rules=None, max_errors=None, type_info=None):
    # ariadne's documented example sets an attribute on the document; graphql-core 3.3's
    # nodes are frozen, so the result is kept beside it
    past = _validated.get(id(document_ast))
    if past is None:
        past = _validated[id(document_ast)] = graphql_validate(schema, document_ast, rules,
                                                               max_errors)
    return past


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
    as_run = MobileGraphQL(limits)
    bare = strawberry.Schema(query=Query)
    ari = ariadne_schema(bare.as_str())
    variables = {"id": "o-1"}

    async def run_plain():
        return await plain(Loaders(services))

    async def run_as_run():
        return (await as_run.run(services, QUERY, variables, None, None))[1]

    async def run_bare():
        result = await bare.execute(QUERY, variable_values=variables,
                                    context_value=Context(Loaders(services)))
        return {"data": result.data, **({"errors": result.errors} if result.errors else {})}

    async def run_ariadne():
        return (await ariadne.graphql(ari, {"query": QUERY, "variables": variables},
                                      context_value=Context(Loaders(services))))[1]

    async def run_ariadne_cached():
        return (await ariadne.graphql(ari, {"query": QUERY, "variables": variables},
                                      context_value=Context(Loaders(services)),
                                      query_parser=cached_parser,
                                      query_validator=cached_validator))[1]

    variants = {"(a) plain composition": run_plain, "(b) strawberry, as run": run_as_run,
                "(c) strawberry, bare": run_bare, "(d) ariadne, bare": run_ariadne,
                "(e) ariadne, cached": run_ariadne_cached}
    answers = [await v() for v in variants.values()]
    assert all(a["data"] == answers[0]["data"] for a in answers), answers
    return {name: await rate(v, seconds) for name, v in variants.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.5, help="per variant and round")
    args = parser.parse_args()
    err = Console(stderr=True)
    print(f"bench_graphql  strawberry {version('strawberry-graphql')}  ariadne "
          f"{version('ariadne')}  graphql-core {version('graphql-core')}  "
          f"loadavg at start={os.getloadavg()[0]:.2f}  lines={LINES}  "
          f"rounds={args.rounds} x {args.seconds:g} s per variant")
    rounds = []
    for r in range(args.rounds):
        err.print(f"round {r + 1}/{args.rounds}")
        rounds.append(asyncio.run(measure(args.seconds)))
    base = statistics.median(x["(a) plain composition"][0] for x in rounds)
    base_cpu = statistics.median(x["(a) plain composition"][1] for x in rounds)
    table = Table(title="One order with its products, shipment and notifications, plus the "
                        "cart (median of rounds)")
    for column in ("variant", "queries/s", "x plain", "CPU µs/query", "x plain CPU",
                   "spread"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for name in rounds[0]:
        values = [x[name][0] for x in rounds]
        median = statistics.median(values)
        cpu = statistics.median(x[name][1] for x in rounds)
        table.add_row(name, f"{median:,.0f}", f"{median / base:.2f}", f"{cpu:,.0f}",
                      f"{cpu / base_cpu:.1f}", f"{(max(values) - min(values)) / median:.0%}")
    Console(width=110).print(table)
    print(f"loadavg at end={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

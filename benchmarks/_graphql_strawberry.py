"""bench_graphql's strawberry side: the mobile BFF's former GraphQL library, kept only to
measure against. A code-first strawberry schema with just what the benchmark's query
reads (an order with its lines' products, shipment, notifications and timeline; the cart
with its lines' products), its resolvers on the BFF's own per-request loaders
(bff/mobile/loaders.py) — and the configuration the BFF ran until it moved to ariadne:
depth, token and alias limits as strawberry extensions, strawberry's parser and
validation caches, the rules made once so a query's validation is cached with them.
The external names are the BFF's (camelCase), so the answers compare equal."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import Info

from mercato.bff.mobile.limits import Limits
from mercato.bff.mobile.shaping import cart_item_count, timeline


@strawberry.type
class Product:
    id: strawberry.ID
    name: str
    price: int


async def _product(info: Info, product_id: str) -> Product | None:
    p = await info.context.loaders.products.load(product_id)
    return Product(id=p["id"], name=p["name"], price=p["price"]) if p else None


@strawberry.type
class CartLine:
    product_id: strawberry.ID

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await _product(info, self.product_id)


@strawberry.type
class Cart:
    item_count: int
    items: list[CartLine]


@strawberry.type
class TimelineEntry:
    status: str
    at: str


@strawberry.type
class OrderLine:
    product_id: strawberry.ID
    quantity: int

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await _product(info, self.product_id)


@strawberry.type
class Shipment:
    status: str
    tracking_number: str | None


@strawberry.type
class Notification:
    subject: str


@strawberry.type
class Order:
    id: strawberry.ID
    status: str
    total: int
    items: list[OrderLine]
    timeline: list[TimelineEntry]

    @classmethod
    def of(cls, o: dict[str, Any]) -> Order:
        return cls(id=o["id"], status=o["status"], total=o["total"],
                   timeline=[TimelineEntry(status=t["status"], at=t["at"])
                             for t in timeline(o)],
                   items=[OrderLine(product_id=i["product_id"], quantity=i["quantity"])
                          for i in o["items"]])

    @strawberry.field
    async def shipment(self, info: Info) -> Shipment | None:
        found = await info.context.loaders.shipments.load(self.id)
        s = found[-1] if found else None
        return Shipment(status=s["status"], tracking_number=s.get("tracking_number")) \
            if s else None

    @strawberry.field
    async def notifications(self, info: Info) -> list[Notification] | None:
        return [Notification(subject=n["subject"])
                for n in await info.context.loaders.notifications.load(self.id)]


@strawberry.type
class Query:
    @strawberry.field
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        found = await info.context.loaders.orders.load(id)
        return Order.of(found) if found else None

    @strawberry.field
    async def cart(self, info: Info) -> Cart | None:
        c = await info.context.loaders.cart.load("me")
        return Cart(item_count=cart_item_count(c),
                    items=[CartLine(product_id=i["product_id"]) for i in c["items"]])


def bare() -> strawberry.Schema:
    return strawberry.Schema(query=Query)


def as_run(limits: Limits) -> strawberry.Schema:
    """The BFF's strawberry configuration before ariadne (its graphql.py then)."""
    rules = [*QueryDepthLimiter(max_depth=limits.depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=limits.aliases).validation_rules]
    return strawberry.Schema(query=Query, extensions=[
        lambda: MaxTokensLimiter(max_token_count=limits.tokens),
        lambda: ParserCache(maxsize=limits.parsed),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=limits.parsed)])

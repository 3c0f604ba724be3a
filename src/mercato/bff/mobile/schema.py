"""The mobile GraphQL schema (strawberry, code-first): products, cart, orders and
notifications, each field resolved through the request's loaders (loaders.py). Every
field that reads a service is nullable: a service that fails nulls its fields and adds
an error entry, the rest of the answer stands (graphql.py names the service)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from mercato.bff.mobile.shaping import cart_item_count, timeline

MAX_LIMIT = 50


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise GraphQLError(f"limit must be from 1 to {MAX_LIMIT}, not {limit}")
    return limit


@strawberry.type(description="A product card: price in minor units of its currency.")
class Product:
    id: strawberry.ID
    name: str
    price: int
    currency: str
    category: str | None

    @classmethod
    def of(cls, p: dict[str, Any]) -> Product:
        return cls(id=p["id"], name=p["name"], price=p["price"], currency=p["currency"],
                   category=p.get("category"))


async def _product(info: Info, product_id: str) -> Product | None:
    found = await info.context.loaders.products.load(product_id)
    return Product.of(found) if found else None


@strawberry.type
class CartLine:
    product_id: strawberry.ID
    quantity: int
    unit_price: int | None

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await _product(info, self.product_id)


@strawberry.type
class Cart:
    item_count: int
    total: int
    currency: str
    items: list[CartLine]


@strawberry.type
class TimelineEntry:
    status: str
    at: str
    reason: str | None = None


@strawberry.type
class OrderLine:
    product_id: strawberry.ID
    name: str | None
    quantity: int
    unit_price: int

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        return await _product(info, self.product_id)


@strawberry.type
class Shipment:
    id: strawberry.ID
    status: str
    tracking_number: str | None


@strawberry.type
class Notification:
    id: strawberry.ID
    kind: str
    subject: str
    created_at: str
    order_id: strawberry.ID | None

    @classmethod
    def of(cls, n: dict[str, Any]) -> Notification:
        return cls(id=n["id"], kind=n["kind"], subject=n["subject"],
                   created_at=n["created_at"], order_id=n.get("order_id"))

    @strawberry.field(description="The order the message is about.")
    async def order(self, info: Info) -> Order | None:
        return await _order(info, self.order_id) if self.order_id else None


@strawberry.type
class Order:
    id: strawberry.ID
    status: str
    total: int
    currency: str
    created_at: str
    items: list[OrderLine]
    timeline: list[TimelineEntry]

    @classmethod
    def of(cls, o: dict[str, Any]) -> Order:
        return cls(id=o["id"], status=o["status"], total=o["total"], currency=o["currency"],
                   created_at=o["created_at"], timeline=[TimelineEntry(**t) for t in timeline(o)],
                   items=[OrderLine(product_id=i["product_id"], name=i.get("name"),
                                    quantity=i["quantity"], unit_price=i["unit_price"])
                          for i in o["items"]])

    @strawberry.field(description="The newest shipment, null while there is none.")
    async def shipment(self, info: Info) -> Shipment | None:
        found = await info.context.loaders.shipments.load(self.id)
        if not found:
            return None
        s = found[-1]
        return Shipment(id=s["id"], status=s["status"], tracking_number=s.get("tracking_number"))

    @strawberry.field(description="The messages sent about this order, newest first.")
    async def notifications(self, info: Info) -> list[Notification] | None:
        return [Notification.of(n)
                for n in await info.context.loaders.notifications.load(self.id)]


async def _order(info: Info, order_id: str) -> Order | None:
    found = await info.context.loaders.orders.load(order_id)
    return Order.of(found) if found else None


@strawberry.type
class Query:
    @strawberry.field(description="A few products to show first.")
    async def featured(self, info: Info, limit: int = 4) -> list[Product] | None:
        loaders = info.context.loaders
        page = await loaders.upstream.json("catalog", "GET",
                                           f"/api/v1/catalog/products?limit={_limit(limit)}")
        for p in page["items"]:
            loaders.products.prime(p["id"], p)  # an order's line then costs no lookup
        return [Product.of(p) for p in page["items"]]

    @strawberry.field
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await _product(info, id)

    @strawberry.field(description="The caller's cart.")
    async def cart(self, info: Info) -> Cart | None:
        c = await info.context.loaders.cart.load("me")
        return Cart(item_count=cart_item_count(c), total=c["total"], currency=c["currency"],
                    items=[CartLine(product_id=i["product_id"], quantity=i["quantity"],
                                    unit_price=i.get("unit_price")) for i in c["items"]])

    @strawberry.field(description="One of the caller's orders; null if not theirs.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return await _order(info, id)

    @strawberry.field(description="The caller's notifications, newest first.")
    async def notifications(self, info: Info, limit: int = 20) -> list[Notification] | None:
        page = await info.context.loaders.upstream.json(
            "notifications", "GET", f"/api/v1/notifications?limit={_limit(limit)}")
        return [Notification.of(n) for n in page["items"]]

"""The mobile schema's resolvers: each field that reads a service asks the request's
loaders (loaders.py), so however many fields want a product, an order or its shipments,
each is read once per request. They answer the services' JSON as it is (schema.py maps
the camelCase fields onto its snake_case keys); only derived fields are computed here."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLError, GraphQLResolveInfo

from mercato.bff.mobile.shaping import cart_item_count, timeline

MAX_LIMIT = 50
Json = dict[str, Any]


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise GraphQLError(f"limit must be from 1 to {MAX_LIMIT}, not {limit}")
    return limit


async def _product(line: Json, info: GraphQLResolveInfo) -> Json | None:
    return await info.context.loaders.products.load(line["product_id"])


async def _order(order_id: str, info: GraphQLResolveInfo) -> Json | None:
    return await info.context.loaders.orders.load(order_id)


async def featured(_: Any, info: GraphQLResolveInfo, limit: int) -> list[Json]:
    loaders = info.context.loaders
    page = await loaders.upstream.json("catalog", "GET",
                                       f"/api/v1/catalog/products?limit={_limit(limit)}")
    for p in page["items"]:
        loaders.products.prime(p["id"], p)  # an order's line then costs no lookup
    return page["items"]


async def product(_: Any, info: GraphQLResolveInfo, id: str) -> Json | None:
    return await info.context.loaders.products.load(id)


async def cart(_: Any, info: GraphQLResolveInfo) -> Json:
    return await info.context.loaders.cart.load("me")


async def order(_: Any, info: GraphQLResolveInfo, id: str) -> Json | None:
    return await _order(id, info)


async def notifications(_: Any, info: GraphQLResolveInfo, limit: int) -> list[Json]:
    page = await info.context.loaders.upstream.json(
        "notifications", "GET", f"/api/v1/notifications?limit={_limit(limit)}")
    return page["items"]


async def shipment(o: Json, info: GraphQLResolveInfo) -> Json | None:
    found = await info.context.loaders.shipments.load(o["id"])
    return found[-1] if found else None


async def order_notifications(o: Json, info: GraphQLResolveInfo) -> list[Json]:
    return await info.context.loaders.notifications.load(o["id"])


async def notification_order(n: Json, info: GraphQLResolveInfo) -> Json | None:
    return await _order(n["order_id"], info) if n.get("order_id") else None


def bindables() -> list[ObjectType]:
    query = QueryType()
    for name, resolver in (("featured", featured), ("product", product), ("cart", cart),
                           ("order", order), ("notifications", notifications)):
        query.set_field(name, resolver)
    order_type, note, cart_type = ObjectType("Order"), ObjectType("Notification"), \
        ObjectType("Cart")
    order_type.set_field("timeline", lambda o, _info: timeline(o))
    order_type.set_field("shipment", shipment)
    order_type.set_field("notifications", order_notifications)
    note.set_field("order", notification_order)
    cart_type.set_field("itemCount", lambda c, _info: cart_item_count(c))
    lines = [ObjectType(name) for name in ("OrderLine", "CartLine")]
    for line in lines:
        line.set_field("product", _product)
    return [query, order_type, note, cart_type, *lines]

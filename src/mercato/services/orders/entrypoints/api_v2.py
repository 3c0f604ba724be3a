"""Orders HTTP routes, version 2: the same handlers and read models as v1 (api.py), only
the answers are shaped otherwise: money as ``{amount, currency}``, the status with its
``timeline`` of ``{status, at}`` (the order's status changes as its events recorded them),
and ``links`` to the order itself, its shipment and its payment.

v1 stays as it is (tests/contract/examples); the gateway marks it deprecated and points
each v1 answer at its v2 successor (gateway/versions.py). No answer here knows of that.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, StrictInt

from mercato.chassis import Principal, require_user
from mercato.chassis.web import problems
from mercato.services.orders.entrypoints.api import (
    OrderStatus,
    PlaceOrder,
    ShippingAddress,
    orders,
    read_models,
)
from mercato.services.orders.handlers import Orders
from mercato.services.orders.projections.views import OrderViews

router = APIRouter()
PREFIX = "/api/v2/orders"
ORDER_LINKS = {"GetOrderV2": {"operationRef": "#/paths/~1api~1v2~1orders~1{order_id}/get",
                              "parameters": {"order_id": "$response.body#/id"}}}


class Money(BaseModel):
    """An amount in minor units of its currency (1999 USD: $19.99)."""
    amount: StrictInt
    currency: str


class OrderLinks(BaseModel):
    """Where the order, its shipment and its payment are read."""
    self: str
    shipment: str
    payment: str


class TimelineEntry(BaseModel):
    """A status the order took, with when."""
    status: OrderStatus
    at: str


class PlacedV2(BaseModel):
    """The answer to a placed order (documented only)."""
    id: str
    status: Literal["pending"]
    total: Money
    links: OrderLinks


class OrderRowV2(BaseModel):
    """One order in the customer's list (item_count counts units)."""
    id: str
    status: OrderStatus
    total: Money
    created_at: str
    item_count: StrictInt
    links: OrderLinks


class OrderListV2(BaseModel):
    """The customer's orders, newest first."""
    items: list[OrderRowV2]


class OrderLineV2(BaseModel):
    """One line, priced when the order was placed (amount = quantity * unit_price)."""
    product_id: str
    name: str
    quantity: StrictInt
    unit_price: Money
    amount: Money


class OrderV2(BaseModel):
    """One order: its status, how it got there, and where its shipment and payment are
    (reason: why it was cancelled)."""
    id: str
    customer_id: str
    status: OrderStatus
    reason: str | None
    timeline: list[TimelineEntry]
    total: Money
    items: list[OrderLineV2]
    shipping_address: ShippingAddress
    created_at: str
    links: OrderLinks


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def links(order_id: str) -> dict:
    query = quote(order_id, safe="")
    return {"self": f"{PREFIX}/{quote(order_id)}",
            "shipment": f"/api/v1/shipping/shipments?order_id={query}",
            "payment": f"/api/v1/payments?order_id={query}"}


def order_row(row: dict) -> dict:
    """A row of v1's list (projections/order_list.py) as v2 shows it."""
    return {"id": row["id"], "status": row["status"],
            "total": money(row["total"], row["currency"]), "created_at": row["created_at"],
            "item_count": row["item_count"], "links": links(row["id"])}


def order(document: dict) -> dict:
    """v1's order document (projections/order_detail.py, Order.as_dict) as v2 shows it."""
    currency = document["currency"]
    return {
        "id": document["id"], "customer_id": document["customer_id"],
        "status": document["status"], "reason": document["reason"],
        "timeline": [{"status": h["status"], "at": h["at"]} for h in document["history"]],
        "total": money(document["total"], currency),
        "items": [{"product_id": x["product_id"], "name": x["name"],
                   "quantity": x["quantity"], "unit_price": money(x["unit_price"], currency),
                   "amount": money(x["amount"], currency)} for x in document["items"]],
        "shipping_address": document["shipping_address"],
        "created_at": document["created_at"], "links": links(document["id"]),
    }


@router.post(PREFIX, status_code=202, response_model=None,
             responses={**problems(409, 429), 202: {"model": PlacedV2, "links": ORDER_LINKS}})
async def place_order_v2(
    body: PlaceOrder,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    user: Principal = Depends(require_user),
    handlers: Orders = Depends(orders),
) -> dict:
    placed = await handlers.place_order(user, body.model_dump(exclude_none=True),
                                        idempotency_key)
    answer = {"id": placed.id, "status": "pending",
              "total": money(placed.total, placed.currency), "links": links(placed.id)}
    response.headers["Location"] = answer["links"]["self"]
    return answer


@router.get(PREFIX, response_model=None, responses={200: {"model": OrderListV2}})
async def list_orders_v2(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    user: Principal = Depends(require_user),
    views: OrderViews = Depends(read_models),
) -> dict:
    return {"items": [order_row(r) for r in await views.list_orders(user.subject, limit)]}


@router.get(PREFIX + "/{order_id}", response_model=None, responses={200: {"model": OrderV2}})
async def get_order_v2(order_id: str, user: Principal = Depends(require_user),
                       views: OrderViews = Depends(read_models)) -> dict:
    return order(await views.order_detail(user, order_id))

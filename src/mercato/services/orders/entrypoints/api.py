"""Orders HTTP routes: commands through the handlers, queries from the read models; a
handler's refusal is answered as errors.py says (create_service(errors=...))."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from mercato.chassis import Principal, require_admin, require_user
from mercato.chassis.web import OneLine, problems
from mercato.services.orders.handlers import Orders
from mercato.services.orders.projections.views import OrderViews

router = APIRouter()
Text = OneLine(200)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[StrictInt, Field(ge=1, le=99)]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    line1: Text
    city: Text
    postal_code: Annotated[str, Field(min_length=1, max_length=20, pattern=r"\S")]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Payment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_token: Annotated[str, Field(min_length=1, max_length=64)]


class PlaceOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[Item], Field(min_length=1, max_length=50)] | None = None
    from_cart: StrictBool = False
    shipping_address: Address
    payment: Payment

    @model_validator(mode="after")
    def _items_or_cart(self) -> PlaceOrder:
        if self.from_cart == (self.items is not None):
            raise ValueError("give either items or from_cart: true (exactly one)")
        return self


# Where a placed order's id leads (OpenAPI links: clients and schemathesis' stateful runs).
ORDER_LINKS = {"GetOrder": {"operationRef": "#/paths/~1api~1v1~1orders~1{order_id}/get",
                            "parameters": {"order_id": "$response.body#/id"}}}


class Placed(BaseModel):
    """The answer to a placed order (documented only)."""
    id: str
    status: Literal["pending"]
    total: StrictInt
    currency: str


# The answers below are documented only, like Placed: the handlers' dicts are sent as they are.
OrderStatus = Literal["pending", "confirmed", "shipped", "delivered", "cancelled", "refunded"]
Step = Literal["placed", "reserved", "paid", "shipment_scheduled", "confirmed", "shipped",
               "delivered", "refunded"]


class OrderRow(BaseModel):
    """One order in the customer's list (item_count counts units)."""
    id: str
    status: OrderStatus
    total: StrictInt
    currency: str
    created_at: str
    item_count: StrictInt


class OrderList(BaseModel):
    """The customer's orders, newest first."""
    items: list[OrderRow]


class OrderLine(BaseModel):
    """One line of an order, priced when it was placed (amount = quantity * unit_price)."""
    product_id: str
    name: str
    quantity: StrictInt
    unit_price: StrictInt
    amount: StrictInt


class ShippingAddress(BaseModel):
    """Where the order goes, as it was placed."""
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class Change(BaseModel):
    """A change of the order's status (reason: why it was cancelled)."""
    status: OrderStatus
    at: str
    reason: str | None


class Milestone(BaseModel):
    """A step of the order's timeline, once, with when."""
    step: Step
    at: str


class OrderOut(BaseModel):
    """One order with its history and progress (reason: why it was cancelled)."""
    id: str
    customer_id: str
    status: OrderStatus
    reason: str | None
    total: StrictInt
    currency: str
    items: list[OrderLine]
    shipping_address: ShippingAddress
    created_at: str
    history: list[Change]
    progress: list[Milestone]


class Cancelling(BaseModel):
    """The answer to a cancellation asked for: the order's status when it was asked."""
    id: str
    status: Literal["pending", "confirmed"]
    cancellation: Literal["requested"]


class SalesTotal(BaseModel):
    """Confirmed orders and revenue in one currency."""
    currency: str
    orders: StrictInt
    revenue: StrictInt


class SalesDay(SalesTotal):
    """Confirmed orders and revenue of one day (YYYY-MM-DD) in one currency."""
    day: str


class SalesProduct(SalesTotal):
    """One product's confirmed orders, units and revenue in one currency."""
    product_id: str
    name: str
    units: StrictInt


class SalesSummary(BaseModel):
    """Sales of confirmed orders kept (a refund takes one off): totals, per day, per product."""
    totals: list[SalesTotal]
    by_day: list[SalesDay]
    by_product: list[SalesProduct]


async def orders(request: Request) -> Orders:
    return request.app.state.orders


async def read_models(request: Request) -> OrderViews:
    return request.app.state.views


@router.post("/api/v1/orders", status_code=202,
             response_model=None,
             responses={**problems(409, 429), 202: {"model": Placed, "links": ORDER_LINKS}})
async def place_order(
    body: PlaceOrder,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    user: Principal = Depends(require_user),
    handlers: Orders = Depends(orders),
) -> dict:
    order = await handlers.place_order(user, body.model_dump(exclude_none=True),
                                       idempotency_key)
    response.headers["Location"] = f"/api/v1/orders/{order.id}"
    return {"id": order.id, "status": "pending", "total": order.total,
            "currency": order.currency}


@router.get("/api/v1/orders", response_model=None, responses={200: {"model": OrderList}})
async def list_orders(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    user: Principal = Depends(require_user),
    views: OrderViews = Depends(read_models),
) -> dict:
    return {"items": await views.list_orders(user.subject, limit)}


# Before /api/v1/orders/{order_id}, which would otherwise take "summary" for an order id.
@router.get("/api/v1/orders/summary", response_model=None,
            responses={200: {"model": SalesSummary}})
async def sales_summary(_admin: Principal = Depends(require_admin),
                        views: OrderViews = Depends(read_models)) -> dict:
    return await views.sales_summary()


@router.get("/api/v1/orders/{order_id}", response_model=None,
            responses={200: {"model": OrderOut}})
async def get_order(order_id: str, user: Principal = Depends(require_user),
                    views: OrderViews = Depends(read_models)) -> dict:
    return await views.order_detail(user, order_id)


@router.post("/api/v1/orders/{order_id}/cancel", status_code=202, response_model=None,
             responses={**problems(409), 202: {"model": Cancelling}})
async def cancel_order(order_id: str, user: Principal = Depends(require_user),
                       handlers: Orders = Depends(orders)) -> dict:
    order = await handlers.cancel_order(user, order_id)
    return {"id": order.id, "status": order.status.value, "cancellation": "requested"}


"""Inventory HTTP routes: parse, authorize, call a handler, shape the response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from mercato.chassis import Principal, require_admin, require_service
from mercato.chassis.web import problems
from mercato.services.inventory.handlers import Inventory

router = APIRouter()
Id = Annotated[StrictStr, Field(min_length=1, max_length=100)]
ProductId = Annotated[str, Path(min_length=1, max_length=100)]
ReservationId = Annotated[str, Path(min_length=1, max_length=100)]
IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=200)]


class Adjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: Annotated[StrictInt, Field(ge=-(10**9), le=10**9)]
    reason: Annotated[StrictStr, Field(min_length=1, max_length=500)]

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be zero")
        return value

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class StockOut(BaseModel):
    """A product's stock as answered (documented only; on_hand = available + reserved +
    sold)."""
    product_id: str
    on_hand: Annotated[StrictInt, Field(ge=0)]
    available: Annotated[StrictInt, Field(ge=0)]
    reserved: Annotated[StrictInt, Field(ge=0)]
    sold: Annotated[StrictInt, Field(ge=0)]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: Id
    quantity: Annotated[StrictInt, Field(ge=1, le=10**6)]


class NewReservation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reservation_id: Id
    order_id: Id
    items: Annotated[list[Item], Field(min_length=1, max_length=100)]


async def inventory(request: Request) -> Inventory:
    return request.app.state.inventory


@router.get("/api/v1/inventory/stock/{product_id}", response_model=None,
            responses={200: {"model": StockOut}})
async def get_stock(product_id: ProductId, handlers: Inventory = Depends(inventory)) -> dict:
    return (await handlers.get_stock(product_id)).as_dict()


@router.post("/api/v1/inventory/stock/{product_id}/adjustments", response_model=None,
             responses={**problems(409), 200: {"model": StockOut}})
async def adjust_stock(
    product_id: ProductId,
    body: Adjustment,
    idempotency_key: IdempotencyKey = None,
    admin: Principal = Depends(require_admin),
    handlers: Inventory = Depends(inventory),
) -> dict:
    stock = await handlers.adjust_stock(product_id, body.delta, body.reason,
                                        actor=admin.subject, idempotency_key=idempotency_key)
    return stock.as_dict()


@router.post("/internal/reservations", status_code=201, responses=problems(404, 409))
async def reserve(
    body: NewReservation,
    response: Response,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Inventory = Depends(inventory),
) -> dict:
    result, created = await handlers.reserve(
        body.reservation_id, body.order_id, [(i.product_id, i.quantity) for i in body.items])
    if not created:
        response.status_code = 200
    return result


@router.post("/internal/reservations/{reservation_id}/commit", responses=problems(409))
async def commit(
    reservation_id: ReservationId,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Inventory = Depends(inventory),
) -> dict:
    return (await handlers.commit(reservation_id)).as_dict()


@router.post("/internal/reservations/{reservation_id}/release", responses=problems(409))
async def release(
    reservation_id: ReservationId,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Inventory = Depends(inventory),
) -> dict:
    return (await handlers.release(reservation_id)).as_dict()


@router.post("/internal/reservations/{reservation_id}/return", responses=problems(409))
async def return_goods(
    reservation_id: ReservationId,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Inventory = Depends(inventory),
) -> dict:
    return (await handlers.return_goods(reservation_id)).as_dict()

"""Cart HTTP routes: parse, authorize, call a handler, shape the response."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic.json_schema import SkipJsonSchema

from mercato.chassis import Principal, require_service, require_user
from mercato.chassis.web import problems
from mercato.services.cart.domain import MAX_QUANTITY
from mercato.services.cart.handlers import Carts

router = APIRouter()
ProductId = Annotated[str, Path(min_length=1, max_length=100)]
UserId = Annotated[str, Path(min_length=1, max_length=200)]


class Quantity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)]


def _absent_when_none(schema: dict) -> None:
    schema.pop("default", None)  # left out of the answer, never null


class CartItemOut(BaseModel):
    """A line priced now; no longer sold in the cart's currency: unit_price null, unavailable."""
    product_id: str
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]
    name: Annotated[str | SkipJsonSchema[None],
                    Field(json_schema_extra=_absent_when_none)] = None
    unit_price: StrictInt | None
    unavailable: Annotated[Literal[True] | SkipJsonSchema[None],
                           Field(json_schema_extra=_absent_when_none)] = None


class CartOut(BaseModel):
    """The cart as answered (documented only: the handler's dict is sent as it is)."""
    items: list[CartItemOut]
    total: StrictInt
    currency: str


CART = {"model": CartOut}


async def carts(request: Request) -> Carts:
    return request.app.state.carts


@router.get("/api/v1/cart", response_model=None, responses={200: CART})
async def get_cart(user: Principal = Depends(require_user),
                   handlers: Carts = Depends(carts)) -> dict:
    return await handlers.view(user.subject)


@router.put("/api/v1/cart/items/{product_id}", response_model=None,
            responses={**problems(409), 200: CART})
async def put_item(
    product_id: ProductId,
    body: Quantity,
    user: Principal = Depends(require_user),
    handlers: Carts = Depends(carts),
) -> dict:
    return await handlers.set_quantity(user.subject, product_id, body.quantity)


@router.delete("/api/v1/cart", status_code=204)
async def clear_cart(user: Principal = Depends(require_user),
                     handlers: Carts = Depends(carts)) -> Response:
    await handlers.clear(user.subject)
    return Response(status_code=204)


@router.get("/internal/carts/{user_id}", response_model=None, responses={200: CART})
async def get_cart_of(user_id: UserId, _caller: Principal = Depends(require_service("orders")),
                      handlers: Carts = Depends(carts)) -> dict:
    return await handlers.view(user_id)


@router.delete("/internal/carts/{user_id}", status_code=204)
async def clear_cart_of(user_id: UserId, _caller: Principal = Depends(require_service("orders")),
                        handlers: Carts = Depends(carts)) -> Response:
    await handlers.clear(user_id)
    return Response(status_code=204)

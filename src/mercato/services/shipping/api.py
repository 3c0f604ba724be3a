"""Shipping HTTP routes: the internal commands of the checkout, and the public listing."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from mercato.chassis import Principal, require_service, require_user
from mercato.chassis.web import problems
from mercato.services.shipping.domain import Address, Item
from mercato.services.shipping.handlers import Schedule, Shipping

router = APIRouter()
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Ident = Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]
ShipmentId = Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)]
Line = Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=r"\S")]
City = Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=r"\S")]
PostalCode = Annotated[StrictStr, Field(min_length=1, max_length=20, pattern=r"\S")]


class AddressBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line
    line1: Line
    city: City
    postal_code: PostalCode
    country: Annotated[StrictStr, Field(pattern=r"^[A-Za-z]{2}$")]


class ItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: Ident
    quantity: Annotated[StrictInt, Field(gt=0, le=100_000)]


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shipment_id: Ident
    order_id: Ident
    customer_id: Ident
    address: AddressBody
    items: Annotated[list[ItemBody], Field(min_length=1, max_length=500)]


class ShipmentAddress(BaseModel):
    """Where the shipment goes (country: two capital letters)."""
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class ShipmentOut(BaseModel):
    """A shipment of the order as answered (documented only: the handler's dict is sent)."""
    id: str
    order_id: str
    status: Literal["scheduled", "labelled", "in_transit", "delivered", "cancelled"]
    tracking_number: str
    address: ShipmentAddress
    created_at: str


class ShipmentList(BaseModel):
    """The order's shipments; none for an order that is not the caller's (or unknown)."""
    items: list[ShipmentOut]


async def shipping(request: Request) -> Shipping:
    return request.app.state.shipping


@router.post("/internal/shipments", status_code=201, responses=problems(409))
async def schedule(
    body: ScheduleBody,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Shipping = Depends(shipping),
) -> dict:
    fields = body.address.model_dump()  # a broken rule: ShippingError, answered 422
    address = Address(**{**fields, "country": fields["country"].upper()})
    items = tuple(Item(**i.model_dump()) for i in body.items)
    cmd = Schedule(shipment_id=body.shipment_id, order_id=body.order_id,
                   customer_id=body.customer_id, address=address, items=items)
    return (await handlers.schedule(cmd)).as_dict()


@router.post("/internal/shipments/{shipment_id}/cancel", responses=problems(409))
async def cancel(
    shipment_id: ShipmentId,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Shipping = Depends(shipping),
) -> dict:
    shipment = await handlers.cancel(shipment_id)
    if shipment is None:  # never seen: now a tombstone
        return {"id": shipment_id, "order_id": None, "status": "cancelled",
                "tracking_number": None}
    return shipment.as_dict()


@router.get("/api/v1/shipping/shipments", response_model=None,
            responses={200: {"model": ShipmentList}})
async def list_shipments(
    order_id: Annotated[str, Query(min_length=1, max_length=100)],
    caller: Principal = Depends(require_user),
    handlers: Shipping = Depends(shipping),
) -> dict:
    found = await handlers.shipments_of_order(order_id, caller)
    return {"items": [_public(s.as_dict()) for s in found]}


def _public(shipment: dict) -> dict:
    keep = ("id", "order_id", "status", "tracking_number", "address", "created_at")
    return {k: shipment[k] for k in keep}

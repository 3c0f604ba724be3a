"""Payments HTTP routes: the internal commands of the checkout, and the public listing."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from mercato.chassis import Principal, require_service, require_user
from mercato.chassis.web import problems
from mercato.services.payments.handlers import Authorize, Payments

router = APIRouter()
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Ident = Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]
Amount = Annotated[StrictInt, Field(gt=0, le=10**12)]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
PaymentId = Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)]


class AuthorizeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_id: Ident
    order_id: Ident
    customer_id: Ident
    amount: Amount
    currency: Currency
    card_token: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class PaymentOut(BaseModel):
    """A payment of the order as answered (documented only: the handler's dict is sent)."""
    id: str
    order_id: str
    status: Literal["authorized", "captured", "voided", "refunded", "failed"]
    amount: StrictInt
    currency: str
    created_at: str
    updated_at: str


class PaymentList(BaseModel):
    """The order's payments; none for an order that is not the caller's (or unknown)."""
    items: list[PaymentOut]


async def payments(request: Request) -> Payments:
    return request.app.state.payments


@router.post("/internal/payments/authorize", status_code=201,
             responses=problems(402, 409, 502, 504))
async def authorize(
    body: AuthorizeBody,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Payments = Depends(payments),
) -> dict:
    return (await handlers.authorize(Authorize(**body.model_dump()))).as_dict()


@router.post("/internal/payments/{payment_id}/capture", responses=problems(409, 502, 504))
async def capture(
    payment_id: PaymentId,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Payments = Depends(payments),
) -> dict:
    return (await handlers.capture(payment_id)).as_dict()


@router.post("/internal/payments/{payment_id}/void", responses=problems(409, 502, 504))
async def void(
    payment_id: PaymentId,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Payments = Depends(payments),
) -> dict:
    payment = await handlers.void(payment_id)
    if payment is None:  # never seen: now a tombstone
        return {"id": payment_id, "order_id": None, "status": "voided", "amount": None,
                "currency": None}
    return payment.as_dict()


@router.post("/internal/payments/{payment_id}/refund", responses=problems(409, 502, 504))
async def refund(
    payment_id: PaymentId,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Payments = Depends(payments),
) -> dict:
    return (await handlers.refund(payment_id)).as_dict()


@router.get("/api/v1/payments", response_model=None,
            responses={200: {"model": PaymentList}})
async def list_payments(
    order_id: Annotated[str, Query(min_length=1, max_length=100)],
    caller: Principal = Depends(require_user),
    handlers: Payments = Depends(payments),
) -> dict:
    found = await handlers.payments_of_order(order_id, caller)
    return {"items": [p.as_dict() for p in found]}

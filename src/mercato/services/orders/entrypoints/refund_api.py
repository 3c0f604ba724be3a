"""Orders' refund route: ``POST /api/v1/orders/{order_id}/refund`` (the order's customer,
within the return window, or an admin), answered once the refund is under way (refunds.py).
A module of its own: the public routes (api.py) are left as they are."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from mercato.chassis import Principal, require_user
from mercato.chassis.web import problems
from mercato.services.orders.refunds import Refunds

router = APIRouter()


class Refunding(BaseModel):
    """The answer to a refund asked for: ``status`` is ``delivered`` while the payment is
    being given back, ``refunded`` once it was (a repeat)."""
    id: str
    status: Literal["delivered", "refunded"]
    refund: Literal["requested", "done"]


async def refunds(request: Request) -> Refunds:
    return request.app.state.refunds


@router.post("/api/v1/orders/{order_id}/refund", status_code=202, response_model=None,
             responses={**problems(404, 409), 202: {"model": Refunding}})
async def refund_order(order_id: str, user: Principal = Depends(require_user),
                       handlers: Refunds = Depends(refunds)) -> dict:
    order = await handlers.request(user, order_id)
    return {"id": order.id, "status": order.status.value,
            "refund": "done" if order.status.value == "refunded" else "requested"}

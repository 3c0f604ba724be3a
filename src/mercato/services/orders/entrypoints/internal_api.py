"""Orders' internal route (service token): ``GET /internal/sagas/{order_id}``, a checkout
saga step by step, for operators (``GET /internal/facts`` is the chassis', reading
``SqlOrderRepository.facts``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from mercato.chassis import Principal, require_service
from mercato.chassis.errors import NotFound

router = APIRouter()
OrderId = Annotated[str, Path(min_length=1, max_length=100)]


def _store(request: Request):
    return request.app.state.orders.store


@router.get("/internal/sagas/{order_id}")
async def saga(order_id: OrderId, request: Request,
               _caller: Principal = Depends(require_service("gateway"))) -> dict:
    found = await _store(request).get_saga(order_id)
    if found is None:
        raise NotFound(f"the saga of order {order_id} was not found")
    return {
        "order_id": found.order_id, "mode": found.mode, "phase": found.phase.value,
        "step": found.step.value, "reason": found.reason,
        "cancel_requested": found.cancel_requested, "refunded": found.refunded,
        "version": found.version,
        "steps": [asdict(record) for record in found.records.values()],
    }


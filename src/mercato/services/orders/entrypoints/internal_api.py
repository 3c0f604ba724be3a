"""Orders' internal routes (service token): ``GET /internal/facts`` for ``mercato verify``
and ``GET /internal/sagas/{order_id}``, a checkout saga step by step, for operators.

The facts read orders and sagas through the store's own methods (so they keep working
whatever the orders' storage becomes), in one transaction; only the list of order ids is
this module's own query, over the sagas table.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from mercato.chassis import Principal, require_service
from mercato.chassis.errors import NotFound
from mercato.services.orders.adapters.eventstore import APPEND_LOCK

router = APIRouter()
OrderId = Annotated[str, Path(min_length=1, max_length=100)]


def _store(request: Request):
    return request.app.state.orders.store


@router.get("/internal/facts")
async def facts(request: Request, _caller: Principal = Depends(require_service("cli"))) -> dict:
    runtime, store = request.app.state.runtime, _store(request)
    orders = []
    async with runtime.db.transaction() as tx:
        # Each order must agree with its saga. SQLite's transaction is one snapshot; on
        # PostgreSQL (READ COMMITTED) each statement sees the latest commits, so a saga
        # could be read after a commit that its order was read before. Holding the event
        # store's append lock stops that: every transaction that moves an order and its
        # saga together appends, so none commits while the facts are read (appends wait;
        # `mercato verify` is an operator's command, rarely run).
        await tx.lock(APPEND_LOCK)
        # every order is placed with its saga, in one transaction: the sagas list them all
        for row in await tx.fetch_all("SELECT order_id FROM sagas ORDER BY order_id"):
            order = await store.get_order(row["order_id"], tx)
            saga = await store.get_saga(row["order_id"], tx)
            if order is not None and saga is not None:
                orders.append({"order_id": order.id, "status": order.status.value,
                               "total": order.total, "currency": order.currency,
                               "reason": order.reason, "saga": saga.phase.value,
                               "history": [c.status.value for c in order.history]})
    unfinished = await store.unfinished_sagas()
    return {
        "orders": orders,
        "pending_orders": sum(1 for o in orders if o["status"] == "pending"),
        "unfinished_sagas": len(unfinished),
        "unfinished_saga_ids": unfinished,
        "outbox": await runtime.outbox.unpublished(),
    }


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


"""Orders: the recent checkouts of every customer, with how each ran (orchestration or
choreography) and ended; one order's saga as a step timeline (live until it ends) and its
trace as a waterfall from the trace store."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.console.saga import FINAL_PHASES, best_trace, timeline
from mercato.console.waterfall import waterfall
from mercato.pages import PageKit

STATUSES = ("pending", "confirmed", "cancelled", "shipped", "delivered", "refunded")
ORDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def routes(kit: PageKit) -> list[Route]:
    async def recent(request: Request) -> dict:
        await admin(kit, request)
        status = request.query_params.get("status", "")
        query = {"limit": "50", **({"status": status} if status in STATUSES else {})}
        reply = await kit.call(request, "GET", "/api/v1/orders/recent?" + urlencode(query))
        if not reply.ok:
            raise HTTPException(503, f"The orders cannot be listed: {reply.problem()}")
        return {"orders": reply.json()["items"], "status": query.get("status", ""),
                "statuses": STATUSES, "active": "orders"}

    async def list_page(request: Request):
        wanted = request.query_params.get("id", "").strip()
        if wanted:
            await admin(kit, request)
            if ORDER_ID.match(wanted):
                return kit.redirect(request, "/console/orders/" + quote(wanted))
        return kit.render(request, "orders.html", await recent(request))

    async def list_live(request: Request):
        return kit.render(request, "_orders.html", await recent(request))

    async def saga_of(request: Request, order_id: str) -> dict:
        reply = await kit.call(request, "GET", f"/api/v1/ops/sagas/{quote(order_id)}")
        if reply.status == 404:
            raise HTTPException(404, f"There is no order {order_id}.")
        if not reply.ok:
            raise HTTPException(503, f"The saga cannot be read: {reply.problem()}")
        saga = reply.json()
        steps, total_ms = timeline(saga)
        return {"saga": saga, "steps": steps, "saga_ms": total_ms,
                "final": saga.get("phase") in FINAL_PHASES}

    async def trace_of(request: Request, order_id: str) -> dict:
        found = await kit.call(request, "GET",
                               f"/api/v1/ops/traces?order_id={quote(order_id)}&limit=20")
        if not found.ok:
            return {"trace_problem": found.problem(), "traces": []}
        traces = found.json()["items"]
        chosen = request.query_params.get("trace", "")
        pick = next((t for t in traces if t["trace_id"] == chosen), None) if TRACE_ID.match(
            chosen) else None
        pick = pick or best_trace(traces)
        if pick is None:
            return {"traces": [], "trace_problem": "No trace names this order yet (spans "
                    "reach the store about a second after they end)."}
        one = await kit.call(request, "GET", f"/api/v1/ops/traces/{pick['trace_id']}")
        if not one.ok:
            return {"traces": traces, "trace_problem": one.problem()}
        rows, total_ms = waterfall(one.json()["spans"])
        return {"traces": traces, "trace": pick, "spans": rows, "trace_ms": total_ms}

    async def detail(request: Request):
        await admin(kit, request)
        order_id = request.path_params["order_id"]
        if not ORDER_ID.match(order_id):
            raise HTTPException(404, "There is no such order.")
        order = await kit.call(request, "GET", f"/api/v1/orders/{quote(order_id)}")
        if order.status == 404:
            raise HTTPException(404, f"There is no order {order_id}.")
        context = {"order": order.json() if order.ok else None, "order_id": order_id,
                   "active": "orders", **await saga_of(request, order_id),
                   **await trace_of(request, order_id)}
        return kit.render(request, "order.html", context)

    async def saga_live(request: Request):
        await admin(kit, request)
        order_id = request.path_params["order_id"]
        if not ORDER_ID.match(order_id):
            raise HTTPException(404, "There is no such order.")
        return kit.render(request, "_saga.html", await saga_of(request, order_id))

    return [Route("/orders", list_page), Route("/orders/live", list_live),
            Route("/orders/{order_id}", detail), Route("/orders/{order_id}/saga", saga_live)]

"""Stock: every product with its units on hand, available, reserved and sold, and a form
per product to adjust its stock with a reason (``POST
/api/v1/inventory/stock/{id}/adjustments``, with an ``Idempotency-Key`` per form). Bad
input re-renders the page with the message next to that product's form; nothing is
written."""

from __future__ import annotations

import asyncio
import re
import uuid
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.pages import PageKit

PRODUCTS = 100
DELTA = re.compile(r"^[+-]?\d{1,6}$")
KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def check_adjustment(delta: str, reason: str) -> dict[str, str]:
    """The form's own checks, before the API's: a whole, non-zero number and a reason."""
    errors = {}
    if not DELTA.match(delta) or int(delta) == 0:
        errors["delta"] = "A whole number of units, not zero: 5 adds, -3 removes."
    if not reason:
        errors["reason"] = "Say why (a delivery, a count, breakage...)."
    return errors


def routes(kit: PageKit) -> list[Route]:
    async def render(request: Request, failed: dict | None = None, status: int = 200):
        await admin(kit, request)
        listing = await kit.call(request, "GET", f"/api/v1/catalog/products?limit={PRODUCTS}")
        if not listing.ok:
            raise HTTPException(503, f"The catalog cannot be read: {listing.problem()}")
        products = listing.json()["items"]
        stocks = await asyncio.gather(*(
            kit.call(request, "GET", f"/api/v1/inventory/stock/{quote(p['id'])}")
            for p in products))
        rows = [{"product": p, "stock": s.json() if s.ok else None,
                 "key": str(uuid.uuid4())} for p, s in zip(products, stocks, strict=True)]
        adjusted = request.query_params.get("adjusted", "")
        return kit.render(request, "stock.html", {
            "rows": rows, "failed": failed or {}, "active": "stock",
            "adjusted": next((p["name"] for p in products if p["id"] == adjusted), None)},
            status=status)

    async def page(request: Request):
        return await render(request)

    async def adjust(request: Request):
        form = await kit.form(request)
        await admin(kit, request)
        product_id = request.path_params["product_id"]
        delta = str(form.get("delta", "")).strip()
        reason = str(form.get("reason", "")).strip()[:200]
        key = str(form.get("idempotency_key", ""))
        errors = check_adjustment(delta, reason)
        if not errors:
            reply = await kit.call(
                request, "POST", f"/api/v1/inventory/stock/{quote(product_id)}/adjustments",
                json={"delta": int(delta), "reason": reason},
                headers={"Idempotency-Key": key} if KEY.match(key) else None)
            if reply.ok:
                return kit.redirect(request, "/console/stock?adjusted=" + quote(product_id))
            errors = reply.field_errors() if reply.status == 422 else {}
            errors = errors or {"form": reply.problem()}
        failed = {"product_id": product_id, "delta": delta, "reason": reason,
                  "errors": errors}
        return await render(request, failed, 400)

    return [Route("/stock", page),
            Route("/stock/{product_id}/adjust", adjust, methods=["POST"])]

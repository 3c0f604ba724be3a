"""My orders, one order's live timeline, my notifications."""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.pages import PageKit
from mercato.storefront.basket import sign_in_first
from mercato.storefront.browse import unavailable
from mercato.storefront.timeline import FINAL, cancellation, steps

CANCELLABLE = ("pending", "confirmed")


def routes(kit: PageKit) -> list[Route]:
    async def load(request: Request) -> dict:
        oid = request.path_params["order_id"]
        reply = await kit.call(request, "GET", f"/api/v1/orders/{quote(oid, safe='')}")
        if reply.status == 404:
            raise HTTPException(404, "There is no such order among yours.")
        if not reply.ok:
            raise unavailable(reply, "The order cannot be read right now")
        order = reply.json()
        return {"order": order, "steps": steps(order), "cancellation": cancellation(order),
                "final": order["status"] in FINAL,
                "cancellable": order["status"] in CANCELLABLE}

    async def list_orders(request: Request):
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, "/orders")
        reply = await kit.call(request, "GET", "/api/v1/orders")
        if not reply.ok:
            raise unavailable(reply, "Your orders cannot be read right now")
        return kit.render(request, "orders.html", {"orders": reply.json()["items"]})

    async def show(request: Request):
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, request.url.path)
        view = await load(request)
        view["message"] = request.query_params.get("message", "")[:200]
        return kit.render(request, "order.html", view)

    async def live(request: Request):
        """The timeline alone, which the order page re-fetches until the order is final."""
        who = await kit.visitor(request)
        if not who.signed_in:
            raise HTTPException(401, "Sign in again to follow this order.")
        return kit.render(request, "_timeline.html", await load(request))

    async def cancel(request: Request):
        await kit.form(request)
        who = await kit.visitor(request)
        oid = request.path_params["order_id"]
        if not who.signed_in:
            return sign_in_first(kit, request, f"/orders/{oid}")
        reply = await kit.call(request, "POST", f"/api/v1/orders/{quote(oid, safe='')}/cancel")
        if reply.status == 404:
            raise HTTPException(404, "There is no such order among yours.")
        if reply.status == 409:
            view = await load(request)
            view["message"] = reply.problem()
            return kit.render(request, "order.html", view, status=409)
        if not reply.ok:
            raise unavailable(reply, "The order cannot be cancelled right now")
        return kit.redirect(request, f"/orders/{quote(oid, safe='')}")

    async def notifications(request: Request):
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, "/notifications")
        reply = await kit.call(request, "GET", "/api/v1/notifications")
        if not reply.ok:
            raise unavailable(reply, "Your messages cannot be read right now")
        return kit.render(request, "notifications.html", {"messages": reply.json()["items"]})

    return [Route("/orders", list_orders), Route("/orders/{order_id}", show),
            Route("/orders/{order_id}/timeline", live),
            Route("/orders/{order_id}/cancel", cancel, methods=["POST"]),
            Route("/notifications", notifications)]

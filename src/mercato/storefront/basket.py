"""The cart page: lines, quantities, removal and totals as the cart service prices them."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Route

from mercato.pages import PageKit
from mercato.storefront.browse import unavailable

MAX_QUANTITY = 99


def quantity_of(raw: object) -> int | None:
    try:
        value = int(str(raw).strip())
    except ValueError:
        return None
    return value if 0 <= value <= MAX_QUANTITY else None


def sign_in_first(kit: PageKit, request: Request, after: str):
    return kit.redirect(request, "/signin?next=" + quote(after, safe="/"))


def routes(kit: PageKit) -> list[Route]:
    async def show(request: Request, error: str | None = None, status: int = 200):
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, "/cart")
        reply = await kit.call(request, "GET", "/api/v1/cart")
        if not reply.ok:
            raise unavailable(reply, "The cart cannot be read right now")
        return kit.render(request, "cart.html", {"cart": reply.json(), "error": error},
                          status=status)

    async def add(request: Request):
        form = await kit.form(request)
        pid = str(form.get("product_id", ""))[:100]
        back = f"/products/{quote(pid, safe='')}"
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, back)
        quantity = quantity_of(form.get("quantity", "1"))
        if not pid or not quantity:
            return await show(request, f"Quantity must be a whole number from 1 to "
                                       f"{MAX_QUANTITY}.", 400)
        cart = await kit.call(request, "GET", "/api/v1/cart")
        if not cart.ok:
            raise unavailable(cart, "The cart cannot be read right now")
        have = sum(i["quantity"] for i in cart.json()["items"] if i["product_id"] == pid)
        return await put(request, pid, min(have + quantity, MAX_QUANTITY), back + "?added=1")

    async def change(request: Request):
        form = await kit.form(request)
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, "/cart")
        quantity = quantity_of(form.get("quantity", ""))
        if quantity is None:
            return await show(request, f"Quantity must be a whole number from 0 to "
                                       f"{MAX_QUANTITY}.", 400)
        return await put(request, request.path_params["product_id"], quantity, "/cart")

    async def remove(request: Request):
        await kit.form(request)
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, "/cart")
        return await put(request, request.path_params["product_id"], 0, "/cart")

    async def put(request: Request, pid: str, quantity: int, then: str):
        reply = await kit.call(request, "PUT", f"/api/v1/cart/items/{quote(pid, safe='')}",
                               json={"quantity": quantity})
        if reply.ok:
            return kit.redirect(request, then)
        if reply.status in (400, 404, 409, 422):
            return await show(request, reply.problem(), 400 if reply.status != 404 else 404)
        raise unavailable(reply, "The cart cannot be changed right now")

    return [Route("/cart", show), Route("/cart/add", add, methods=["POST"]),
            Route("/cart/items/{product_id}", change, methods=["POST"]),
            Route("/cart/items/{product_id}/remove", remove, methods=["POST"])]

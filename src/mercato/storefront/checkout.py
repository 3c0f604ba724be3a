"""Checkout: the shipping address, a test card, one Place order button.

Each checkout form carries its own ``Idempotency-Key`` (a hidden field minted when the form
is rendered), sent with ``POST /api/v1/orders``: a double click, a reload that re-posts or a
retry after a lost answer place one order, and the visitor lands on that order's page.
"""

from __future__ import annotations

import re
import uuid

from starlette.requests import Request
from starlette.routing import Route

from mercato.pages import PageKit
from mercato.storefront.basket import sign_in_first
from mercato.storefront.browse import unavailable

ADDRESS = ("name", "line1", "city", "postal_code", "country")
CARDS = [
    ("tok_ok", "Approves the payment"),
    ("tok_decline", "Is declined by the bank: the order is cancelled, the stock released"),
    ("tok_error", "Makes the payment provider fail every time"),
    ("tok_slow", "Answers after the provider's timeout"),
]
KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def routes(kit: PageKit) -> list[Route]:
    async def form(request: Request, values: dict | None = None,
                   errors: dict | None = None, status: int = 200):
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, "/checkout")
        cart = await kit.call(request, "GET", "/api/v1/cart")
        if not cart.ok:
            raise unavailable(cart, "The cart cannot be read right now")
        values = values or {"card_token": "tok_ok"}
        return kit.render(request, "checkout.html", {
            "cart": cart.json(), "values": values, "errors": errors or {}, "cards": CARDS,
            "idempotency_key": values.get("idempotency_key") or str(uuid.uuid4())},
            status=status)

    async def place(request: Request):
        posted = await kit.form(request)
        who = await kit.visitor(request)
        if not who.signed_in:
            return sign_in_first(kit, request, "/checkout")
        values = {k: str(posted.get(k, "")).strip()[:200]
                  for k in (*ADDRESS, "card_token", "idempotency_key")}
        errors = {k: "This field is required." for k in (*ADDRESS, "card_token")
                  if not values[k]}
        if not KEY.match(values["idempotency_key"]):
            values["idempotency_key"] = ""
            errors["form"] = "This form has expired; check it and place the order again."
        if errors:
            return await form(request, values, errors, 400)
        reply = await kit.call(
            request, "POST", "/api/v1/orders",
            headers={"Idempotency-Key": values["idempotency_key"]},
            json={"from_cart": True, "payment": {"card_token": values["card_token"]},
                  "shipping_address": {k: values[k] for k in ADDRESS}})
        if reply.status in (200, 201, 202):
            return kit.redirect(request, f"/orders/{reply.json()['id']}")
        if reply.status == 422:
            found = reply.field_errors()
            return await form(request, values, found or {"form": reply.problem()}, 400)
        if reply.status in (400, 409):
            return await form(request, values, {"form": reply.problem()}, 400)
        # Busy, unavailable, rate limited: the same form (same key) may simply be sent again.
        return await form(request, values, {"form": f"The order could not be placed just now "
                                            f"({reply.problem()}). Placing it again from this "
                                            f"form never makes two orders."}, 503)

    return [Route("/checkout", form), Route("/checkout", place, methods=["POST"])]

"""``GET /api/mobile/v1/home``: the first screen in one answer — a few featured products,
the cart's item count and the last order's status, read from catalog, cart and orders in
parallel. A part whose service fails comes back ``null`` with an entry in ``errors``
naming the service (the web BFF's rule: the view degrades, it does not fail)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mercato.bff.mobile.shaping import cart_item_count, compact_product, last_order
from mercato.bff.mobile.upstream import Upstream, UpstreamFailed


async def home(upstream: Upstream, featured: int) -> dict[str, Any]:
    errors: list[dict[str, str]] = []

    async def part(name: str, service: str, path: str,
                   shape: Callable[[Any], Any]) -> Any:
        try:
            return shape(await upstream.json(service, "GET", path))
        except UpstreamFailed as exc:
            errors.append({"part": name, "service": exc.service, "message": str(exc)})
        except (KeyError, TypeError, ValueError) as exc:
            errors.append({"part": name, "service": service,
                           "message": f"{service}: malformed answer ({type(exc).__name__})"})
        return None

    parts: list[Awaitable[Any]] = [
        part("featured", "catalog", f"/api/v1/catalog/products?limit={featured}",
             lambda page: [compact_product(p) for p in page["items"]]),
        part("cart", "cart", "/api/v1/cart", lambda cart: {"item_count": cart_item_count(cart)}),
        part("last_order", "orders", "/api/v1/orders?limit=1", last_order),
    ]
    products, cart, order = await asyncio.gather(*parts)
    return {"featured": products, "cart": cart, "last_order": order,
            "errors": sorted(errors, key=lambda e: e["part"])}

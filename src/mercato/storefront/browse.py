"""Home, search and product pages."""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.pages import PageKit
from mercato.pages.api import ApiReply

FEATURED = 8
PAGE_SIZE = 12
LOW_STOCK = 5


def availability(stock: dict | None) -> tuple[str, str]:
    """(words, css class) for a product's stock as inventory reports it."""
    if stock is None:
        return "Availability unknown", "unknown"
    available = int(stock.get("available", 0))
    if available <= 0:
        return "Out of stock", "out"
    if available <= LOW_STOCK:
        return f"Only {available} left", "low"
    return "In stock", "in"


def unavailable(reply: ApiReply, what: str) -> HTTPException:
    status = reply.status if reply.status in (404, 429) else 503
    return HTTPException(status, f"{what}: {reply.problem()}")


def routes(kit: PageKit) -> list[Route]:
    async def home(request: Request):
        await kit.visitor(request)
        products, categories = await asyncio.gather(
            kit.public(request, f"/api/v1/catalog/products?limit={FEATURED}"),
            kit.public(request, "/api/v1/catalog/categories"))
        if not products.ok:
            raise unavailable(products, "The catalog cannot be read right now")
        cats = categories.json()["items"] if categories.ok else []
        return kit.render(request, "home.html", {"products": products.json()["items"],
                                                 "categories": cats})

    async def search(request: Request):
        await kit.visitor(request)
        q = request.query_params.get("q", "").strip()[:200]
        category = request.query_params.get("category", "").strip()[:100]
        cursor = request.query_params.get("cursor", "")[:500]
        query = {"limit": PAGE_SIZE, **({"q": q} if q else {}),
                 **({"category": category} if category else {}),
                 **({"cursor": cursor} if cursor else {})}
        products, categories = await asyncio.gather(
            kit.public(request, "/api/v1/catalog/products?" + urlencode(query)),
            kit.public(request, "/api/v1/catalog/categories"))
        if products.status == 400:
            raise HTTPException(400, "That page of results no longer exists; search again.")
        if not products.ok:
            raise unavailable(products, "The catalog cannot be searched right now")
        found = products.json()
        more = None
        if found.get("next_cursor"):
            more = "/search?" + urlencode({**{k: v for k, v in query.items()
                                              if k in ("q", "category")},
                                           "cursor": found["next_cursor"]})
        return kit.render(request, "search.html", {
            "q": q, "category": category, "products": found["items"], "more": more,
            "categories": categories.json()["items"] if categories.ok else []})

    async def product(request: Request):
        await kit.visitor(request)
        pid = request.path_params["product_id"]
        item, stock = await asyncio.gather(
            kit.public(request, f"/api/v1/catalog/products/{quote(pid, safe='')}"),
            kit.public(request, f"/api/v1/inventory/stock/{quote(pid, safe='')}"))
        if item.status == 404:
            raise HTTPException(404, "This product is not in the catalog.")
        if not item.ok:
            raise unavailable(item, "The catalog cannot be read right now")
        words, css = availability(stock.json() if stock.ok else None)
        return kit.render(request, "product.html", {
            "product": item.json(), "availability": words, "availability_class": css,
            "can_buy": css != "out", "added": request.query_params.get("added") == "1"})

    return [Route("/", home), Route("/search", search),
            Route("/products/{product_id}", product)]

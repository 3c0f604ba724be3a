"""The catalog as the inventory sees it: does a product exist? Asked over HTTP."""

from __future__ import annotations

from mercato.chassis import ServiceClient, Unavailable
from mercato.services.inventory.ports import CatalogUnavailable


class HttpCatalog:
    """``ProductCatalog`` over the catalog's internal lookup route."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def exists(self, product_id: str) -> bool:
        try:
            reply = await self._client.call(
                "catalog", "POST", "/internal/products/lookup",
                json_body={"ids": [product_id]},
            )
        except Unavailable as exc:
            raise CatalogUnavailable(str(exc)) from exc
        if not reply.ok:
            raise CatalogUnavailable(f"catalog answered {reply.status} to a product lookup")
        try:
            return product_id in reply.json()["products"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CatalogUnavailable("catalog sent an unreadable lookup answer") from exc

"""The catalog as the cart sees it: current prices of products, asked in one batch."""

from __future__ import annotations

from collections.abc import Sequence

from mercato.chassis import ServiceClient, Unavailable
from mercato.services.cart.domain import Product
from mercato.services.cart.ports import CatalogUnavailable


class HttpCatalog:
    """``ProductCatalog`` over the catalog's internal lookup route."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def lookup(self, product_ids: Sequence[str]) -> dict[str, Product]:
        try:
            reply = await self._client.call(
                "catalog", "POST", "/internal/products/lookup",
                json_body={"ids": list(product_ids)},
            )
        except Unavailable as exc:
            raise CatalogUnavailable(str(exc)) from exc
        if not reply.ok:
            raise CatalogUnavailable(f"catalog answered {reply.status} to a product lookup")
        try:
            return {pid: _product(pid, p) for pid, p in reply.json()["products"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CatalogUnavailable("catalog sent an unreadable lookup answer") from exc


def _product(product_id: str, fields: dict) -> Product:
    price, currency = fields["price"], fields["currency"]
    if type(price) is not int or not isinstance(currency, str):
        raise ValueError(f"product {product_id} has no integer price and currency")
    name = fields.get("name")
    return Product(product_id, price, currency, name if isinstance(name, str) else "")

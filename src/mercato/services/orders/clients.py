"""HTTP adapters for the catalog and cart ports of the order handlers."""

from __future__ import annotations

from mercato.chassis import ServiceClient, Unavailable


class HttpCatalog:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def lookup(self, product_ids: list[str]) -> dict[str, dict]:
        reply = await self._client.call("catalog", "POST", "/internal/products/lookup",
                                        json_body={"ids": product_ids})
        if not reply.ok:
            raise Unavailable("catalog", f"lookup answered {reply.status}")
        return reply.json()["products"]


class HttpCart:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def items(self, user_id: str) -> list[dict]:
        reply = await self._client.call("cart", "GET", f"/internal/carts/{user_id}")
        if not reply.ok:
            raise Unavailable("cart", f"cart answered {reply.status}")
        return [{"product_id": i["product_id"], "quantity": i["quantity"]}
                for i in reply.json()["items"] if not i.get("unavailable")]

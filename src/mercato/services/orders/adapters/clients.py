"""Adapters for the catalog and cart ports of the order handlers: over HTTP, and the
catalog's lookup over gRPC too (``MERCATO_INTERNAL_TRANSPORT``).

The catalog is asked for ``fresh`` products (its store, never its cache): an order is
priced at the price of the moment it is placed, never one a cache still holds.

A peer's answer is read, never trusted: an answer that is not the expected JSON shape (a
product without an integer price, a line without a positive integer quantity) is the
peer being unavailable — the order is refused with a 503 and nothing written — rather
than an exception out of the handler or an order priced from a value coerced with
``int()`` (19.99 would have become 19).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mercato.chassis import ServiceClient, Unavailable
from mercato.contracts.proto import catalog_pb2

if TYPE_CHECKING:  # grpc is loaded only where it is used (Runtime.grpc_on)
    from mercato.chassis.rpc import RpcClient

LOOKUP = "/mercato.catalog.v1.Products/Lookup"

MAX_PRICE = 10**12  # the catalog's own bound on a price


class HttpCatalog:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def lookup(self, product_ids: list[str]) -> dict[str, dict]:
        reply = await self._client.call("catalog", "POST", "/internal/products/lookup",
                                        json_body={"ids": product_ids, "fresh": True})
        if not reply.ok:
            raise Unavailable("catalog", f"lookup answered {reply.status}")
        products = _field(reply, "catalog", "products", dict)
        found = {}
        for pid in product_ids:
            if pid in products:
                found[pid] = _product(pid, products[pid])
        return found


class GrpcCatalog:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def lookup(self, product_ids: list[str]) -> dict[str, dict]:
        reply = await self._rpc.call("catalog", LOOKUP,
                                     catalog_pb2.LookupRequest(ids=product_ids, fresh=True),
                                     catalog_pb2.LookupReply)
        if not reply.ok:
            raise Unavailable("catalog", f"lookup answered {reply.status}")
        products = reply.message.products
        return {pid: _product(pid, {"price": products[pid].price,
                                    "currency": products[pid].currency,
                                    "name": products[pid].name})
                for pid in product_ids if pid in products}


class HttpCart:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def items(self, user_id: str) -> list[dict]:
        reply = await self._client.call("cart", "GET", f"/internal/carts/{user_id}")
        if not reply.ok:
            raise Unavailable("cart", f"cart answered {reply.status}")
        lines = []
        for line in _field(reply, "cart", "items", list):
            if not isinstance(line, dict):
                raise Unavailable("cart", "sent a cart line that is not an object")
            if line.get("unavailable"):
                continue
            pid, quantity = line.get("product_id"), line.get("quantity")
            if not isinstance(pid, str) or not pid or type(quantity) is not int \
                    or quantity < 1:
                raise Unavailable("cart", "sent a cart line without a product id and a "
                                          "positive integer quantity")
            lines.append({"product_id": pid, "quantity": quantity})
        return lines


def _field(reply, service: str, name: str, kind: type) -> Any:
    """``reply``'s JSON object's ``name``, which must be a ``kind``; else Unavailable."""
    try:
        body = reply.json()
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        raise Unavailable(service, "sent an answer that is not JSON") from None
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, kind):
        raise Unavailable(service, f"sent an answer without {name!r}")
    return value


def _product(product_id: str, fields: object) -> dict:
    """One product of a lookup, with the fields the order takes from it checked."""
    if not isinstance(fields, dict):
        raise Unavailable("catalog", f"sent product {product_id} as no object")
    price, currency, name = fields.get("price"), fields.get("currency"), fields.get("name")
    if type(price) is not int or not 0 <= price <= MAX_PRICE:
        raise Unavailable("catalog", f"sent product {product_id} without an integer price")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise Unavailable("catalog", f"sent product {product_id} without a currency")
    if not isinstance(name, str):
        raise Unavailable("catalog", f"sent product {product_id} without a name")
    return fields

"""OWASP API10:2023 Unsafe Consumption of APIs: a peer's answer is validated.

An integration test, not against the whole platform: a local aiohttp server plays the
peer (the catalog, the cart) and answers garbage, wrong shapes, wrong types, a 2xx
without a body or megabytes of it; the real chassis ServiceClient calls it and each
service's adapter reads the answer (orders' catalog and cart clients, which price an
order; cart's and inventory's catalog clients). Every such answer becomes the adapter's
clear "the peer is unavailable" error — which the handlers turn into a 503 with
Retry-After and nothing written — never an exception of another kind out of the handler
and never a value coerced into a wrong state (a price of 19.99 read as 19).

The payment provider is simulated in process (services/payments/provider.py: no reply
is parsed), so there is no provider answer to forge here.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from aiohttp import web

from mercato.chassis.calls.client import ServiceClient
from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.resilience import CallPolicy, Unavailable
from mercato.services.cart.catalog_client import HttpCatalog as CartCatalog
from mercato.services.cart.ports import CatalogUnavailable as CartCatalogUnavailable
from mercato.services.inventory.catalog_client import CatalogUnavailable as StockUnavailable
from mercato.services.inventory.catalog_client import HttpCatalog as InventoryCatalog
from mercato.services.orders.adapters.clients import HttpCart, HttpCatalog

GOOD = {"id": "p1", "name": "P", "price": 1999, "currency": "USD"}


class Peer:
    """A registry view with one ready instance of every service: the local server."""

    routing = None

    def __init__(self, address: str) -> None:
        self.address = address

    def ready(self, service):
        return [Instance(service, f"{service}-1", self.address, "1", health="ready")]

    def all(self):
        return self.ready("catalog")


class AnyToken:
    """The caller's workload identity: the fake peer checks no token."""

    def token(self, *_audience) -> str:
        return "t"


@contextlib.asynccontextmanager
async def peer_answering(status: int, body: bytes, content_type: str = "application/json"):
    async def answer(_request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    client = ServiceClient(Peer(f"http://127.0.0.1:{runner.addresses[0][1]}"), AnyToken(),
                           timeout=5.0, policy=CallPolicy(total_timeout=5.0,
                                                          attempts=1))
    await client.start()
    try:
        yield client
    finally:
        await client.close()
        await runner.cleanup()


def products(**fields) -> bytes:
    return json.dumps({"products": {"p1": {**GOOD, **fields}}}).encode()


BAD_LOOKUPS = {
    "not json": b"<html>502 Bad Gateway</html>",
    "empty 200": b"",
    "truncated": products()[:-7],
    "null": b"null",
    "a list": b"[1, 2, 3]",
    "no products": b'{"items": []}',
    "products a list": b'{"products": [{"id": "p1"}]}',
    "product a string": b'{"products": {"p1": "free"}}',
    "float price": products(price=19.99),
    "string price": products(price="1999"),
    "negative price": products(price=-1),
    "boolean price": products(price=True),
    "huge price": products(price=10**30),
    "no price": json.dumps({"products": {"p1": {"id": "p1", "name": "P",
                                                "currency": "USD"}}}).encode(),
    "no currency": products(currency=None),
    "bad currency": products(currency=["USD"]),
    "no name": products(name={"$ne": ""}),
    "NaN price": b'{"products": {"p1": {"id": "p1", "name": "P", "price": NaN,'
                 b' "currency": "USD"}}}',
    "deep nesting": b'{"products": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
}


async def test_a_well_formed_lookup_is_read():
    async with peer_answering(200, products()) as client:
        assert await HttpCatalog(client).lookup(["p1", "p2"]) == {"p1": GOOD}


@pytest.mark.parametrize("case", list(BAD_LOOKUPS))
async def test_orders_refuses_a_malformed_catalog_answer_as_unavailable(case):
    async with peer_answering(200, BAD_LOOKUPS[case]) as client:
        with pytest.raises(Unavailable) as refused:
            await HttpCatalog(client).lookup(["p1"])
    assert refused.value.service == "catalog"


@pytest.mark.parametrize("case", ["not json", "no products", "float price", "string price",
                                  "no price", "product a string", "NaN price"])
async def test_cart_refuses_a_malformed_catalog_answer_as_unavailable(case):
    async with peer_answering(200, BAD_LOOKUPS[case]) as client:
        with pytest.raises(CartCatalogUnavailable):
            await CartCatalog(client).lookup(["p1"])


@pytest.mark.parametrize("case", ["not json", "empty 200", "null", "a list", "no products",
                                  "truncated"])
async def test_inventory_refuses_a_malformed_catalog_answer_as_unavailable(case):
    async with peer_answering(200, BAD_LOOKUPS[case]) as client:
        with pytest.raises(StockUnavailable):
            await InventoryCatalog(client).exists("p1")


@pytest.mark.parametrize("body", [
    b"not json", b'{"items": "all of them"}', b'{"items": [1]}',
    b'{"items": [{"product_id": "p1", "quantity": 2.5}]}',
    b'{"items": [{"product_id": "p1", "quantity": -3}]}',
    b'{"items": [{"product_id": "p1", "quantity": "2"}]}',
    b'{"items": [{"product_id": ["p1"], "quantity": 1}]}',
    b'{"items": [{"quantity": 1}]}',
])
async def test_orders_refuses_a_malformed_cart_answer_as_unavailable(body):
    async with peer_answering(200, body) as client:
        with pytest.raises(Unavailable) as refused:
            await HttpCart(client).items("u1")
    assert refused.value.service == "cart"


async def test_a_well_formed_cart_is_read_without_its_unavailable_lines():
    body = json.dumps({"items": [{"product_id": "p1", "quantity": 2, "unit_price": 1},
                                 {"product_id": "p2", "quantity": 1,
                                  "unavailable": True}]}).encode()
    async with peer_answering(200, body) as client:
        assert await HttpCart(client).items("u1") == [{"product_id": "p1", "quantity": 2}]


@pytest.mark.parametrize("status", [500, 503, 401, 404, 302])
async def test_an_error_status_from_a_peer_is_unavailable_whatever_its_body(status):
    async with peer_answering(status, b"\x00\xff garbage") as client:
        with pytest.raises(Unavailable):
            await HttpCatalog(client).lookup(["p1"])
        with pytest.raises(Unavailable):
            await HttpCart(client).items("u1")

"""The batch lookup orders makes when an order is placed, over HTTP and over gRPC: the
same products, unknown ids absent, the same refusal of a malformed request."""

from __future__ import annotations

import pytest

from mercato.chassis import Unavailable
from mercato.services.catalog.bootstrap import build
from mercato.services.catalog.errors import ERRORS
from mercato.services.catalog.grpc_api import served
from mercato.services.orders.adapters.clients import GrpcCatalog, HttpCatalog
from tests.support.service_client import app_client
from tests.support.service_http import service_app
from tests.support.transports import TRANSPORTS, rpc_client_for


@pytest.fixture(params=TRANSPORTS)
async def lookup(request, tmp_path, catalog):
    app, _identity, _token = service_app("catalog", build, tmp_path)
    app.state.catalog = catalog
    if request.param == "http":
        yield HttpCatalog(app_client({"catalog": app}))
        return
    async with rpc_client_for("catalog", served(catalog), ERRORS) as rpc:
        yield GrpcCatalog(rpc)


async def test_known_products_are_found_with_their_price_and_unknown_ones_are_absent(
        lookup, catalog):
    mug = await catalog.create_product({"sku": "MUG-1", "name": "Mug", "price": 1250,
                                        "currency": "EUR", "description": "",
                                        "category": "kitchen"})
    cup = await catalog.create_product({"sku": "CUP-1", "name": "Cup", "price": 700,
                                        "currency": "EUR", "description": "",
                                        "category": "kitchen"})
    found = await lookup.lookup([cup.id, "nope", mug.id, cup.id])
    assert list(found) == [cup.id, mug.id]  # each once, in the order asked
    assert {k: found[mug.id][k] for k in ("price", "currency", "name")} == {
        "price": 1250, "currency": "EUR", "name": "Mug"}


async def test_a_malformed_lookup_is_refused_not_answered_empty(lookup):
    with pytest.raises(Unavailable, match="lookup answered 422"):
        # an empty id over gRPC, a number for an id over HTTP: each transport's 422
        await lookup.lookup([""] if isinstance(lookup, GrpcCatalog) else [1])


async def test_orders_lookup_reads_the_store_not_a_stale_cache_entry(lookup, catalog):
    mug = await catalog.create_product({"sku": "MUG-1", "name": "Mug", "price": 1250,
                                        "currency": "EUR", "description": "",
                                        "category": "kitchen"})
    assert (await catalog.get_product(mug.id)).price == 1250  # now in its cache
    # changed by another instance, whose event has not come yet
    async with catalog.db.transaction() as tx:
        await catalog.products.save(tx, mug.changed(mug.updated_at, price=1500))
    assert (await catalog.get_product(mug.id)).price == 1250
    assert (await lookup.lookup([mug.id]))[mug.id]["price"] == 1500

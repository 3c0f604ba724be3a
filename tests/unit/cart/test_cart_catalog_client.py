"""The HTTP catalog adapter: what it sends, and how it reads (or refuses) the answers."""

from __future__ import annotations

import pytest

from mercato.services.cart.catalog_client import HttpCatalog
from mercato.services.cart.domain import Product
from mercato.services.cart.ports import CatalogUnavailable
from tests.support.service_client import FakeServiceClient, reply


async def test_lookup_asks_for_all_ids_in_one_call_and_reads_prices():
    client = FakeServiceClient(reply(200, {"products": {
        "a": {"id": "a", "price": 1999, "currency": "USD", "name": "A"}}}))
    found = await HttpCatalog(client).lookup(["a", "b"])
    assert found == {"a": Product("a", 1999, "USD", "A")}
    assert client.sent == [("catalog", "POST", "/internal/products/lookup", {"ids": ["a", "b"]})]


@pytest.mark.parametrize("answer", [
    None,
    reply(503, {"detail": "down"}),
    reply(401, {"detail": "bad token"}),
    reply(200, {"items": []}),
    reply(200, {"products": {"a": {"price": 19.99, "currency": "USD"}}}),
])
async def test_no_answer_or_an_unreadable_one_is_catalog_unavailable(answer):
    with pytest.raises(CatalogUnavailable):
        await HttpCatalog(FakeServiceClient(answer)).lookup(["a"])

"""The HTTP catalog adapter: what it sends, and how it reads (or refuses) the answers."""

from __future__ import annotations

import pytest

from mercato.services.inventory.catalog_client import CatalogUnavailable, HttpCatalog
from tests.support.service_client import FakeServiceClient, reply


async def test_a_product_the_catalog_returns_exists_and_an_absent_one_does_not():
    client = FakeServiceClient(reply(200, {"products": {"a": {"id": "a"}}}))
    catalog = HttpCatalog(client)
    assert await catalog.exists("a") is True
    assert await catalog.exists("b") is False
    assert client.sent[1] == ("catalog", "POST", "/internal/products/lookup", {"ids": ["b"]})


@pytest.mark.parametrize("answer", [None, reply(500, {}), reply(200, {"nope": 1})])
async def test_no_answer_or_an_unreadable_one_is_catalog_unavailable(answer):
    with pytest.raises(CatalogUnavailable):
        await HttpCatalog(FakeServiceClient(answer)).exists("a")

"""Reading the catalog before a run: its pages, an empty one, a gateway that fails."""

from __future__ import annotations

import contextlib

import aiohttp
import pytest

from mercato.load.runner import NoPlatform, NoProducts, read_catalog
from tests.unit.load.test_shopper import FakeResponse


class Catalog:
    def __init__(self, pages: list[dict], status: int = 200, exc: Exception | None = None):
        self.pages, self.status, self.exc, self.params = pages, status, exc, []

    @contextlib.asynccontextmanager
    async def get(self, path, params=None):
        if self.exc:
            raise self.exc
        self.params.append(params)
        yield FakeResponse(self.status, self.pages.pop(0) if self.pages else {})


def item(i: int) -> dict:
    return {"id": f"p{i}", "name": f"Thing {i}", "category": "c", "price": 100}


async def test_every_page_is_read():
    http = Catalog([{"items": [item(1), item(2)], "next_cursor": "x"},
                    {"items": [item(3)], "next_cursor": None}])
    products = await read_catalog(http)
    assert [p.id for p in products] == ["p1", "p2", "p3"]
    assert http.params == [{"limit": "100"}, {"limit": "100", "cursor": "x"}]


async def test_an_empty_catalog_is_said_clearly():
    with pytest.raises(NoProducts, match="catalog is empty"):
        await read_catalog(Catalog([{"items": [], "next_cursor": None}]))


@pytest.mark.parametrize("http", [Catalog([], status=503),
                                  Catalog([], exc=aiohttp.ClientConnectionError("refused"))])
async def test_a_gateway_that_cannot_answer_is_no_platform(http):
    with pytest.raises(NoPlatform):
        await read_catalog(http)

"""Fixtures for the cart's unit tests: its repository port in memory (held to the SQL
adapter's behaviour by tests/db_contract/test_cart_repository.py) and a fake catalog;
``sql_carts`` for the tests that need the real database (the consumer's inbox)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from mercato.services.cart.domain import Product
from mercato.services.cart.handlers import Carts
from mercato.services.cart.ports import CatalogUnavailable
from mercato.services.cart.store import SqlCartRepository
from tests.support.memory import MemoryDatabase
from tests.support.memory.cart import MemoryCartRepository

MUG = "11111111-1111-4111-8111-111111111111"
TEA = "22222222-2222-4222-8222-222222222222"
EURO_BOOK = "33333333-3333-4333-8333-333333333333"
UNKNOWN = "99999999-9999-4999-8999-999999999999"


class FakeCatalog:
    """``ProductCatalog`` over a dict of products; records each batch asked for."""

    def __init__(self, products: dict[str, Product]) -> None:
        self.products = dict(products)
        self.up = True
        self.calls: list[list[str]] = []

    async def lookup(self, product_ids: Sequence[str]) -> dict[str, Product]:
        self.calls.append(list(product_ids))
        await asyncio.sleep(0)  # a real call yields: let concurrent requests interleave here
        if not self.up:
            raise CatalogUnavailable("catalog is unavailable: no ready instance is registered")
        return {pid: self.products[pid] for pid in product_ids if pid in self.products}


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog({
        MUG: Product(MUG, 1250, "USD"),
        TEA: Product(TEA, 499, "USD"),
        EURO_BOOK: Product(EURO_BOOK, 2000, "EUR"),
    })


def carts_over(repository, catalog) -> Carts:
    return Carts(db=repository.db, carts=repository, catalog=catalog,
                 clock=lambda: datetime(2026, 1, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def carts(catalog) -> Carts:
    """The handlers on the in-memory repository: no database."""
    return carts_over(MemoryCartRepository(MemoryDatabase()), catalog)


@pytest.fixture
async def sql_carts(service_db_for, catalog) -> Carts:
    """The handlers on the SQL repository of a real migrated database."""
    return carts_over(SqlCartRepository(await service_db_for("cart")), catalog)

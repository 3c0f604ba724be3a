"""Fixtures for the catalog's unit tests: its repository port in memory (held to the SQL
adapter's behaviour by tests/db_contract/test_catalog_repository.py) and the in-memory
outbox, so the handlers, routes and lookups run without a database."""

from __future__ import annotations

import pytest

from mercato.services.catalog.cache import MemoryProductCache
from mercato.services.catalog.handlers import Catalog
from mercato.services.catalog.ports import ProductCache
from tests.support.clock import StepClock
from tests.support.ids import sequential_ids
from tests.support.memory import MemoryDatabase
from tests.support.memory.catalog import MemoryProductRepository
from tests.support.memory.outbox import MemoryOutbox

MUG = {"sku": "MUG-1", "name": "Mug", "description": "A mug", "category": "kitchen",
       "price": 1200, "currency": "USD"}


def make_catalog(products: MemoryProductRepository, outbox: MemoryOutbox | None = None,
                 cache: ProductCache | None = None) -> Catalog:
    """The handlers on ``products``' in-memory database, with ``outbox`` (or a new one)
    and ``cache`` (or a new in-process one)."""
    return Catalog(db=products.db, products=products,
                   outbox=outbox or MemoryOutbox(products.db, "catalog"), clock=StepClock(),
                   new_id=sequential_ids(), cache=cache or MemoryProductCache(30.0))


@pytest.fixture
def products() -> MemoryProductRepository:
    return MemoryProductRepository(MemoryDatabase())


@pytest.fixture
def catalog(products) -> Catalog:
    """The handlers on the in-memory repository and outbox: no database."""
    return make_catalog(products)

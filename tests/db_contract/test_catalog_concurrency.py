"""Catalog under two concurrent updates of one product, on both backends
(docs/production.md §1): each reads the product, then saves it whole, so without the
``product:<id>`` lock READ COMMITTED on PostgreSQL loses the first one's change (the
read lingers, ``kit.WINDOW``, so both read before either writes)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from mercato.chassis.messaging import Outbox
from mercato.services.catalog.cache import NoProductCache
from mercato.services.catalog.handlers import Catalog
from mercato.services.catalog.store import SqlProductRepository
from tests.db_contract import kit
from tests.support.clock import StepClock

SERVICE = "catalog"  # the database conftest ``service_db_url`` names

MUG = dict(sku="MUG-1", name="Mug", description="A mug", category="kitchen", price=1299,
           currency="USD")


@pytest.fixture
async def two(service_db_url, tmp_path):
    ids = (f"id-{n}" for n in itertools.count())
    async with kit.handles(SERVICE, service_db_url, tmp_path) as opened:
        replicas = []
        for db in opened:
            slow: Any = kit.LingeringDatabase(db)
            replicas.append(Catalog(db=slow, products=SqlProductRepository(slow),
                                    outbox=Outbox(slow, "catalog"), clock=StepClock(),
                                    new_id=lambda: next(ids), cache=NoProductCache()))
        yield replicas


async def test_two_updates_of_one_product_at_once_keep_both_changes(two):
    product = await two[0].create_product(dict(MUG))
    await asyncio.gather(two[0].update_product(product.id, {"name": "Big mug"}),
                         two[1].update_product(product.id, {"price": 1499}))
    stored = await two[0].get_product(product.id)
    assert (stored.name, stored.price) == ("Big mug", 1499)

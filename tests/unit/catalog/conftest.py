"""Fixtures for the catalog's unit tests: a real migrated database and its real outbox."""

from __future__ import annotations

import pytest

from mercato.chassis.data.db import Database
from mercato.chassis.messaging import Outbox
from mercato.services.catalog.handlers import Catalog
from mercato.services.catalog.store import SqlProductRepository
from tests.support.clock import StepClock
from tests.support.ids import sequential_ids

MUG = {"sku": "MUG-1", "name": "Mug", "description": "A mug", "category": "kitchen",
       "price": 1200, "currency": "USD"}


def make_catalog(db: Database, outbox: Outbox | None = None) -> Catalog:
    return Catalog(db=db, products=SqlProductRepository(db),
                   outbox=outbox or Outbox(db, "catalog"), clock=StepClock(),
                   new_id=sequential_ids())


@pytest.fixture
async def catalog(service_db_for) -> Catalog:
    return make_catalog(await service_db_for("catalog"))

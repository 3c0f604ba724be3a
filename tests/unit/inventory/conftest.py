"""Fixtures for the inventory's unit tests: a real migrated database, a fake catalog."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.chassis import Database
from mercato.chassis.errors import Answer
from mercato.chassis.messaging import Outbox
from mercato.services.inventory.catalog_client import CatalogUnavailable
from mercato.services.inventory.errors import ERRORS
from mercato.services.inventory.handlers import Inventory
from mercato.services.inventory.store import SqlReservationRepository, SqlStockRepository
from tests.support.clock import ManualClock
from tests.support.ids import sequential_ids

KNOWN = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"
THIRD = "33333333-3333-4333-8333-333333333333"
UNKNOWN = "99999999-9999-4999-8999-999999999999"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # what the clock reads


def answer(exc: BaseException) -> Answer:
    """A handler's domain error as inventory's table answers it (what a client sees)."""
    found = ERRORS.answer(exc)
    assert found is not None, f"inventory's table does not answer {exc!r}"
    return found


class FakeCatalog:
    """``ProductCatalog`` with a fixed set of products; can be switched off."""

    def __init__(self, known: set[str]) -> None:
        self.known = set(known)
        self.up = True
        self.calls: list[str] = []

    async def exists(self, product_id: str) -> bool:
        self.calls.append(product_id)
        if not self.up:
            raise CatalogUnavailable("catalog is unavailable: no ready instance is registered")
        return product_id in self.known


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog({KNOWN, OTHER, THIRD})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def inventory_over(db: Database, catalog, clock, new_id, outbox: Outbox,
                   **settings) -> Inventory:
    """The handlers over ``db``, with the repositories the service wires."""
    return Inventory(db=db, stock=SqlStockRepository(db),
                     reservations=SqlReservationRepository(db), catalog=catalog, clock=clock,
                     new_id=new_id, outbox=outbox, **settings)


@pytest.fixture
async def db(service_db_for) -> Database:
    return await service_db_for("inventory")


@pytest.fixture
def inventory(db, catalog, clock) -> Inventory:
    return inventory_over(db, catalog, clock, sequential_ids(),
                          Outbox(db, "inventory", clock=clock))


async def stock_rows(db: Database) -> list[dict]:
    """Every stock row straight from SQL, to check the invariant independently of Stock."""
    return await db.fetch_all(
        "SELECT product_id, on_hand, available, reserved, sold FROM stock")


async def assert_stock_conserved(db: Database) -> None:
    for row in await stock_rows(db):
        assert min(row["available"], row["reserved"], row["sold"]) >= 0, row
        assert row["on_hand"] == row["available"] + row["reserved"] + row["sold"], row

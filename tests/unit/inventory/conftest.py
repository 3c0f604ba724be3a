"""Fixtures for the inventory's unit tests: its repository ports and its outbox in memory
(the repositories held to the SQL adapters' behaviour by
tests/db_contract/test_inventory_repository.py) and a fake catalog; ``db`` and
``sql_inventory`` for the tests that need the real database (the consumer's inbox, stock
raced for from one handle or several, the service's wiring)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.chassis import Database
from mercato.chassis.clock import IdFactory
from mercato.chassis.errors import Answer
from mercato.chassis.messaging import Outbox
from mercato.contracts import Envelope
from mercato.services.inventory.errors import ERRORS
from mercato.services.inventory.handlers import Inventory
from mercato.services.inventory.ports import CatalogUnavailable
from mercato.services.inventory.store import SqlReservationRepository, SqlStockRepository
from tests.support.clock import ManualClock
from tests.support.ids import sequential_ids
from tests.support.memory import MemoryDatabase
from tests.support.memory.inventory import MemoryReservationRepository, MemoryStockRepository
from tests.support.memory.outbox import MemoryOutbox
from tests.support.outbox import outbox_envelopes

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


def inventory_over(db: Database | MemoryDatabase, catalog, clock, new_id: IdFactory,
                   outbox: Outbox, **settings) -> Inventory:
    """The handlers over ``db``: the in-memory repositories on a ``MemoryDatabase``, the
    ones the service wires (SQL) on a real database."""
    if isinstance(db, MemoryDatabase):
        stock, reservations = MemoryStockRepository(db), MemoryReservationRepository(db)
    else:
        stock, reservations = SqlStockRepository(db), SqlReservationRepository(db)
    return Inventory(db=db, stock=stock, reservations=reservations, catalog=catalog,
                     clock=clock, new_id=new_id, outbox=outbox, **settings)


def in_memory(catalog, clock, new_id: IdFactory | None = None, **settings) -> Inventory:
    """The handlers on the in-memory repositories and outbox: no database."""
    db = MemoryDatabase()
    return inventory_over(db, catalog, clock, new_id or sequential_ids(),
                          MemoryOutbox(db, "inventory", clock=clock), **settings)


@pytest.fixture
def inventory(catalog, clock) -> Inventory:
    return in_memory(catalog, clock)


@pytest.fixture
async def db(service_db_for) -> Database:
    """A real migrated database (SQLite)."""
    return await service_db_for("inventory")


@pytest.fixture
def sql_inventory(db, catalog, clock) -> Inventory:
    """The handlers on the SQL repositories and outbox of ``db``."""
    return inventory_over(db, catalog, clock, sequential_ids(),
                          Outbox(db, "inventory", clock=clock))


async def envelopes(inventory: Inventory) -> list[Envelope]:
    """Every envelope the handlers put in their outbox and committed, in order."""
    if isinstance(inventory.outbox, MemoryOutbox):
        return inventory.outbox.envelopes
    return await outbox_envelopes(inventory.db)


async def assert_stock_conserved(inventory: Inventory) -> None:
    """Every product's figures, as stored (``levels``): none negative, and they add up."""
    async with inventory.db.transaction() as tx:
        rows = await inventory.stock.levels(tx)
    assert rows, "no stock at all: nothing was checked"
    for row in rows:
        assert min(row["available"], row["reserved"], row["sold"]) >= 0, row
        assert row["on_hand"] == row["available"] + row["reserved"] + row["sold"], row

"""Fixtures for the shipping tests: the handlers on the in-memory repository and outbox
(held to the SQL adapter's behaviour by tests/db_contract/test_shipping_repository.py);
``make_sql_shipping`` for the tests that need the real database (two repositories on it)."""

from __future__ import annotations

import pytest

from mercato.chassis.messaging import Outbox
from mercato.services.shipping.handlers import Shipping
from mercato.services.shipping.store import SqlShipmentRepository
from tests.support.clock import StepClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.outbox import MemoryOutbox
from tests.support.memory.shipping import MemoryShipmentRepository
from tests.unit.shipping.shipping_doubles import ScriptedNumbers


def shipping_over(db, store, outbox: Outbox, numbers: tuple[str, ...],
                  blocked: frozenset[str]) -> Shipping:
    return Shipping(db=db, store=store, outbox=outbox, blocked_countries=blocked,
                    clock=StepClock(), new_tracking_number=ScriptedNumbers(*numbers))


@pytest.fixture
def make_shipping():
    """``await make_shipping(*tracking_numbers)``: the handlers without a database."""
    async def make(*numbers: str, blocked: frozenset[str] = frozenset({"AQ"}),
                   outbox_class: type[MemoryOutbox] = MemoryOutbox) -> Shipping:
        db = MemoryDatabase()
        return shipping_over(db, MemoryShipmentRepository(db), outbox_class(db, "shipping"),
                             numbers, blocked)
    return make


@pytest.fixture
def make_sql_shipping(service_db_for):
    """The handlers on the SQL repository and outbox of a real migrated database."""
    async def make(*numbers: str, blocked: frozenset[str] = frozenset({"AQ"})) -> Shipping:
        db = await service_db_for("shipping")
        return shipping_over(db, SqlShipmentRepository(db), Outbox(db, "shipping"), numbers,
                             blocked)
    return make

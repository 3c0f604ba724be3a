"""Fixtures for the shipping tests."""

from __future__ import annotations

import pytest

from mercato.chassis.messaging import Outbox
from mercato.services.shipping.handlers import Shipping
from mercato.services.shipping.store import SqlShipmentRepository
from tests.support.clock import StepClock
from tests.unit.shipping.shipping_doubles import ScriptedNumbers


@pytest.fixture
def make_shipping(service_db_for):
    async def make(*numbers: str, blocked: frozenset[str] = frozenset({"AQ"}),
                   outbox_class: type[Outbox] = Outbox) -> Shipping:
        db = await service_db_for("shipping")
        return Shipping(db=db, store=SqlShipmentRepository(db),
                        outbox=outbox_class(db, "shipping"), blocked_countries=blocked,
                        clock=StepClock(), new_tracking_number=ScriptedNumbers(*numbers))
    return make

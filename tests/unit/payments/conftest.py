"""Fixtures for the payments tests."""

from __future__ import annotations

import pytest

from mercato.chassis.messaging import Outbox
from mercato.services.payments.handlers import Payments
from mercato.services.payments.store import SqlPaymentRepository
from tests.support.clock import StepClock
from tests.support.ids import sequential_ids


@pytest.fixture
def make_payments(service_db_for):
    async def make(provider, *, timeout: float = 1.0,
                   outbox_class: type[Outbox] = Outbox) -> Payments:
        db = await service_db_for("payments")
        return Payments(db=db, store=SqlPaymentRepository(db, sequential_ids()),
                        outbox=outbox_class(db, "payments"), provider=provider,
                        provider_timeout=timeout, clock=StepClock())
    return make

"""Fixtures for the payments tests: the handlers on the in-memory repositories and outbox
(held to the SQL adapters' behaviour by tests/db_contract/test_payments_repository.py and
tests/unit/chassis/test_memory_outbox.py), no database. The races between two writers of
one payment id run on SQLite and PostgreSQL in tests/db_contract/test_payments_concurrency.py."""

from __future__ import annotations

import pytest

from mercato.services.payments.handlers import Payments
from tests.support.clock import StepClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.outbox import MemoryOutbox
from tests.support.memory.payments import MemoryDoubtRepository, MemoryPaymentRepository


@pytest.fixture
def make_payments():
    """``await make_payments(provider)``: the handlers on a new in-memory database."""
    async def make(provider, *, timeout: float = 1.0,
                   outbox_class: type[MemoryOutbox] = MemoryOutbox) -> Payments:
        db = MemoryDatabase()
        return Payments(db=db, store=MemoryPaymentRepository(db),
                        outbox=outbox_class(db, "payments"), provider=provider,
                        provider_timeout=timeout, clock=StepClock(),
                        doubts=MemoryDoubtRepository(db))
    return make

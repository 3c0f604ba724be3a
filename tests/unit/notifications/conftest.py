"""Fixtures for the notifications tests: the handlers on the in-memory repository (held
to the SQL adapter's behaviour by tests/db_contract/test_notifications_repository.py);
``make_sql_notifications`` for the tests that need the real database (the consumer's
inbox)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.services.notifications.handlers import Notifications
from mercato.services.notifications.store import SqlNotificationRepository
from tests.support.clock import StepClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.notifications import MemoryNotificationRepository
from tests.unit.notifications.notification_doubles import InMemoryMailer


def notifications_over(store, mailer=None, clock=None) -> Notifications:
    """``clock``: by default months after the test envelopes occurred (2026-01-01), so an
    event about an unknown customer no longer waits for their registration."""
    return Notifications(store=store, mailer=mailer or InMemoryMailer(),
                         clock=clock or StepClock(datetime(2026, 6, 1, tzinfo=UTC)))


@pytest.fixture
def make_notifications():
    """``await make_notifications(mailer, clock)``: the handlers without a database."""
    async def make(mailer=None, clock=None) -> Notifications:
        return notifications_over(MemoryNotificationRepository(MemoryDatabase()), mailer,
                                  clock)
    return make


@pytest.fixture
def make_sql_notifications(service_db_for):
    """The handlers on the SQL repository of a real migrated database."""
    async def make(mailer=None, clock=None) -> Notifications:
        db = await service_db_for("notifications")
        return notifications_over(SqlNotificationRepository(db), mailer, clock)
    return make

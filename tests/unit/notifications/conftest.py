"""Fixtures for the notifications tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.services.notifications.handlers import Notifications
from mercato.services.notifications.store import SqlNotificationRepository
from tests.support.clock import StepClock
from tests.unit.notifications.notification_doubles import InMemoryMailer


@pytest.fixture
def make_notifications(service_db_for):
    async def make(mailer=None, clock=None) -> Notifications:
        """``clock``: by default months after the test envelopes occurred (2026-01-01), so
        an event about an unknown customer no longer waits for their registration."""
        db = await service_db_for("notifications")
        return Notifications(store=SqlNotificationRepository(db),
                             mailer=mailer or InMemoryMailer(),
                             clock=clock or StepClock(datetime(2026, 6, 1, tzinfo=UTC)))
    return make

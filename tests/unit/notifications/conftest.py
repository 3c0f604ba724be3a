"""Fixtures for the notifications tests."""

from __future__ import annotations

import pytest

from mercato.services.notifications.handlers import Notifications
from mercato.services.notifications.store import SqlNotificationRepository
from tests.support.clock import StepClock
from tests.unit.notifications.notification_doubles import InMemoryMailer


@pytest.fixture
def make_notifications(service_db_for):
    async def make(mailer=None) -> Notifications:
        db = await service_db_for("notifications")
        return Notifications(store=SqlNotificationRepository(db),
                             mailer=mailer or InMemoryMailer(), clock=StepClock())
    return make

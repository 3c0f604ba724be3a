"""The notifications composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.services.notifications.api import router
from mercato.services.notifications.errors import ERRORS
from mercato.services.notifications.handlers import Notifications
from mercato.services.notifications.mailer import MboxMailer
from mercato.services.notifications.sender import PendingMailSender
from mercato.services.notifications.store import SqlNotificationRepository
from mercato.services.notifications.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


def outbox_path(runtime: Runtime) -> Path:
    return runtime.settings.service_dir("notifications") / "outbox.mbox"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    handlers = Notifications(store=SqlNotificationRepository(runtime.db),
                             mailer=MboxMailer(outbox_path(runtime)), clock=utc_now)
    app.state.notifications = handlers
    # Its first pass sends whatever an earlier run stored but did not send; a failing
    # mailer only delays it, and never keeps the service from starting.
    runtime.run(PendingMailSender(handlers))


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS, on_start=_wire,
                          subscriptions=subscriptions, errors=ERRORS)

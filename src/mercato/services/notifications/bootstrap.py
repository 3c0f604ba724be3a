"""The notifications composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.chassis.logging import get_logger
from mercato.services.notifications.api import router
from mercato.services.notifications.handlers import Notifications
from mercato.services.notifications.mailer import MboxMailer
from mercato.services.notifications.store import SqlNotificationRepository

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def outbox_path(runtime: Runtime) -> Path:
    return runtime.settings.service_dir("notifications") / "outbox.mbox"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    handlers = Notifications(store=SqlNotificationRepository(runtime.db),
                             mailer=MboxMailer(outbox_path(runtime)), clock=utc_now)
    app.state.notifications = handlers
    try:
        sent = await handlers.deliver_pending()
    except Exception as exc:  # a failing mailer must not keep the service from starting
        log.warning("pending_notifications_not_sent", error=str(exc))
    else:
        if sent:
            log.info("pending_notifications_sent", count=sent)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS, on_start=_wire)

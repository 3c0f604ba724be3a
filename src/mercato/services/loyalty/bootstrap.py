"""The loyalty composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.services.loyalty.api import router
from mercato.services.loyalty.errors import ERRORS
from mercato.services.loyalty.handlers import Loyalty
from mercato.services.loyalty.settings import LoyaltySettings
from mercato.services.loyalty.store import SqlLedgerRepository
from mercato.services.loyalty.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    settings = LoyaltySettings()
    app.state.loyalty_page_max = settings.loyalty_page_max
    app.state.loyalty = Loyalty(ledger=SqlLedgerRepository(runtime.db), outbox=runtime.outbox,
                                clock=utc_now)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS, on_start=_wire,
                          subscriptions=subscriptions, errors=ERRORS, publishes=True,
                          facts=lambda app: app.state.loyalty.facts())

"""The shipping composition root: the only place that names concrete adapters."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.services.shipping.api import router
from mercato.services.shipping.choreography import CheckoutReactions
from mercato.services.shipping.courier import Courier
from mercato.services.shipping.domain import CourierSchedule, tracking_number
from mercato.services.shipping.errors import ERRORS
from mercato.services.shipping.handlers import Shipping
from mercato.services.shipping.settings import ShippingSettings
from mercato.services.shipping.store import SqlShipmentRepository
from mercato.services.shipping.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    settings = ShippingSettings()
    app.state.shipping = Shipping(
        db=runtime.db, store=SqlShipmentRepository(runtime.db), outbox=runtime.outbox,
        blocked_countries=settings.blocked(), clock=utc_now,
        new_tracking_number=lambda: tracking_number(secrets.choice),
        courier=CourierSchedule.at_speed(settings.courier_speedup))
    app.state.checkout = CheckoutReactions(app.state.shipping, runtime.db)
    runtime.run(Courier(app.state.shipping))  # its first pass: what came due while down


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True, subscriptions=subscriptions,
                          errors=ERRORS, facts=lambda app: app.state.shipping.facts(),
                          rpc="mercato.services.shipping.grpc_api:shipping")

"""The shipping composition root: the only place that names concrete adapters."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.services.shipping.api import router
from mercato.services.shipping.checkout import CheckoutReactions
from mercato.services.shipping.courier import Courier
from mercato.services.shipping.domain import CourierSchedule, tracking_number
from mercato.services.shipping.facts import router as facts_router
from mercato.services.shipping.handlers import Shipping
from mercato.services.shipping.store import SqlShipmentRepository
from mercato.services.shipping.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


class ShippingSettings(BaseSettings):
    """Shipping's own settings (the chassis settings are shared by every service)."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # Comma-separated ISO country codes shipping does not serve.
    shipping_blocked_countries: str = "AQ"
    # MERCATO_COURIER_SPEEDUP: how much faster than the demo's pace the simulated courier
    # moves (1: labelled ~30 s, in transit ~1 min, delivered ~3 min after confirmation).
    courier_speedup: float = Field(default=1.0, gt=0)

    def blocked(self) -> frozenset[str]:
        codes = (c.strip().upper() for c in self.shipping_blocked_countries.split(","))
        return frozenset(c for c in codes if c)


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    settings = ShippingSettings()
    app.state.shipping = Shipping(
        db=runtime.db,
        store=SqlShipmentRepository(runtime.db),
        outbox=runtime.outbox,
        blocked_countries=settings.blocked(),
        clock=utc_now,
        new_tracking_number=lambda: tracking_number(secrets.choice),
        courier=CourierSchedule.at_speed(settings.courier_speedup),
    )
    app.state.checkout = CheckoutReactions(app.state.shipping, runtime.db)
    # Its first pass takes whatever came due while the service was down.
    app.state.courier = Courier(app.state.shipping)
    app.state.courier.start()


async def _stop(runtime: Runtime, app: FastAPI) -> None:
    await app.state.courier.stop()


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router, facts_router], migrations_dir=MIGRATIONS,
                          on_start=_wire, on_stop=_stop, publishes=True,
                          subscriptions=subscriptions)

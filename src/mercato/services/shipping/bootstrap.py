"""The shipping composition root: the only place that names concrete adapters."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.services.shipping.api import router
from mercato.services.shipping.checkout import CheckoutReactions
from mercato.services.shipping.domain import tracking_number
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

    def blocked(self) -> frozenset[str]:
        codes = (c.strip().upper() for c in self.shipping_blocked_countries.split(","))
        return frozenset(c for c in codes if c)


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    app.state.shipping = Shipping(
        db=runtime.db,
        store=SqlShipmentRepository(runtime.db),
        outbox=runtime.outbox,
        blocked_countries=ShippingSettings().blocked(),
        clock=utc_now,
        new_tracking_number=lambda: tracking_number(secrets.choice),
    )
    app.state.checkout = CheckoutReactions(app.state.shipping, runtime.db)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router, facts_router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True,
                          subscriptions=subscriptions)

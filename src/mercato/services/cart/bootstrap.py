"""The cart's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.services.cart.api import router
from mercato.services.cart.catalog_client import HttpCatalog
from mercato.services.cart.handlers import Carts
from mercato.services.cart.price_cache import CachedCatalog
from mercato.services.cart.store import SqlCartStore
from mercato.services.cart.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


class CartSettings(BaseSettings):
    """The cart's own settings (the chassis settings are shared by every service)."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # MERCATO_CART_PRICE_TTL: seconds a price the catalog gave is reused (0: ask every time).
    cart_price_ttl: float = Field(default=1.0, ge=0)


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    settings = CartSettings()
    catalog = CachedCatalog(HttpCatalog(runtime.client), ttl=settings.cart_price_ttl)
    app.state.carts = Carts(store=SqlCartStore(runtime.db), catalog=catalog, clock=utc_now)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS, on_start=_wire,
                          subscriptions=subscriptions)

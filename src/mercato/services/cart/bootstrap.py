"""The cart's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import utc_now
from mercato.services.cart.api import router
from mercato.services.cart.catalog_client import HttpCatalog
from mercato.services.cart.errors import ERRORS
from mercato.services.cart.handlers import Carts
from mercato.services.cart.price_cache import CachedCatalog
from mercato.services.cart.settings import CartSettings
from mercato.services.cart.store import SqlCartRepository
from mercato.services.cart.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    settings = CartSettings()
    catalog = CachedCatalog(HttpCatalog(runtime.client), ttl=settings.cart_price_ttl)
    app.state.carts = Carts(db=runtime.db, carts=SqlCartRepository(runtime.db),
                           catalog=catalog, clock=utc_now)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS, on_start=_wire,
                          subscriptions=subscriptions, errors=ERRORS)

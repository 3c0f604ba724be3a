"""The inventory's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.chassis.telemetry.metrics import scrape_metrics
from mercato.services.inventory.api import router
from mercato.services.inventory.catalog_client import HttpCatalog
from mercato.services.inventory.facts import router as facts_router
from mercato.services.inventory.handlers import Inventory
from mercato.services.inventory.store import SqlInventoryStore
from mercato.services.inventory.subscriptions import subscriptions
from mercato.services.inventory.sweeper import ReservationSweeper

MIGRATIONS = Path(__file__).parent / "migrations"


class InventorySettings(BaseSettings):
    """The inventory's own settings, from ``MERCATO_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # Seconds a reservation holds its stock before the sweeper may give it back.
    reservation_ttl: float = Field(default=900.0, gt=0)
    # Seconds between two passes of the expiry sweeper.
    reservation_sweep_interval: float = Field(default=5.0, gt=0)


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    settings = InventorySettings()
    inventory = Inventory(
        store=SqlInventoryStore(runtime.db),
        catalog=HttpCatalog(runtime.client),
        clock=utc_now,
        new_id=new_id,
        outbox=runtime.outbox,
        reservation_ttl=timedelta(seconds=settings.reservation_ttl),
    )
    app.state.inventory = inventory
    _gauges(inventory.store)
    app.state.sweeper = ReservationSweeper(inventory,
                                           interval=settings.reservation_sweep_interval)
    app.state.sweeper.start()


def _gauges(store: SqlInventoryStore) -> None:
    """What inventory holds for checkouts, read at each scrape of ``/metrics``."""
    metrics = scrape_metrics()
    metrics.add_probe("mercato_inventory_reservations_held", "Reservations holding stock "
                      "for a checkout (not yet committed, released or expired)",
                      store.reservations_held)
    metrics.add_probe("mercato_inventory_units_reserved", "Units of stock held by "
                      "reservations", store.units_reserved)


async def _stop(runtime: Runtime, app: FastAPI) -> None:
    sweeper: ReservationSweeper | None = getattr(app.state, "sweeper", None)
    if sweeper is not None:
        await sweeper.stop()


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router, facts_router],
                          migrations_dir=MIGRATIONS, on_start=_wire,
                          on_stop=_stop, publishes=True, subscriptions=subscriptions)

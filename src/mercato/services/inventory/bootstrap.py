"""The inventory's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.inventory.api import router
from mercato.services.inventory.catalog_client import HttpCatalog
from mercato.services.inventory.errors import ERRORS
from mercato.services.inventory.handlers import Inventory
from mercato.services.inventory.metrics import register_gauges
from mercato.services.inventory.settings import InventorySettings
from mercato.services.inventory.store import SqlReservationRepository, SqlStockRepository
from mercato.services.inventory.subscriptions import subscriptions
from mercato.services.inventory.sweeper import ReservationSweeper

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    settings, db = InventorySettings(), runtime.db
    app.state.inventory = inventory = Inventory(
        db=db, stock=SqlStockRepository(db), reservations=SqlReservationRepository(db),
        catalog=HttpCatalog(runtime.client), clock=utc_now, new_id=new_id,
        outbox=runtime.outbox, reservation_ttl=settings.hold())
    register_gauges(inventory.stock, inventory.reservations)
    app.state.sweeper = ReservationSweeper(inventory, interval=settings.reservation_sweep_interval)
    runtime.run(app.state.sweeper)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True, subscriptions=subscriptions,
                          errors=ERRORS, facts=lambda app: app.state.inventory.facts(),
                          rpc="mercato.services.inventory.grpc_api:inventory")

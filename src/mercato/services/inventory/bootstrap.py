"""The inventory's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.inventory.api import router
from mercato.services.inventory.catalog_client import HttpCatalog
from mercato.services.inventory.handlers import Inventory
from mercato.services.inventory.store import SqlInventoryStore
from mercato.services.inventory.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    app.state.inventory = Inventory(
        store=SqlInventoryStore(runtime.db),
        catalog=HttpCatalog(runtime.client),
        clock=utc_now,
        new_id=new_id,
        outbox=runtime.outbox,
    )


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS, on_start=_wire,
                          publishes=True, subscriptions=subscriptions)

"""The catalog's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.catalog.api import router
from mercato.services.catalog.errors import ERRORS
from mercato.services.catalog.handlers import Catalog
from mercato.services.catalog.store import SqlProductRepository

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    app.state.catalog = Catalog(db=runtime.db, products=SqlProductRepository(runtime.db),
                                outbox=runtime.outbox, clock=utc_now, new_id=new_id)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True, errors=ERRORS,
                          rpc="mercato.services.catalog.grpc_api:catalog")

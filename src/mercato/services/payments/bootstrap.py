"""The payments composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.payments.api import router
from mercato.services.payments.facts import router as facts_router
from mercato.services.payments.handlers import Payments
from mercato.services.payments.provider import SimulatedProvider
from mercato.services.payments.store import SqlPaymentRepository

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    s = runtime.settings
    provider = SimulatedProvider(latency=s.provider_latency, timeout=s.provider_timeout)
    app.state.payments = Payments(
        db=runtime.db,
        store=SqlPaymentRepository(runtime.db, new_id),
        outbox=runtime.outbox,
        provider=provider,
        provider_timeout=s.provider_timeout,
        clock=utc_now,
    )


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router, facts_router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True)

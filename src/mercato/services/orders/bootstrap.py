"""The orders composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.chassis.identity import shared_secret
from mercato.chassis.logging import get_logger
from mercato.chassis.sealing import CARD_TOKEN, Sealer
from mercato.services.orders.admin_api import router as admin_router
from mercato.services.orders.api import router
from mercato.services.orders.choreography import ChoreographyTracker
from mercato.services.orders.clients import HttpCart, HttpCatalog
from mercato.services.orders.domain.limits import UnitsLimit
from mercato.services.orders.handlers import Orders
from mercato.services.orders.internal_api import router as internal_router
from mercato.services.orders.projections import Projector, read_models
from mercato.services.orders.projections.views import OrderViews
from mercato.services.orders.projections_api import router as projections_router
from mercato.services.orders.saga.participants import HttpParticipants
from mercato.services.orders.saga.runner import SagaRunner
from mercato.services.orders.store import SqlOrderStore
from mercato.services.orders.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


async def _start(runtime: Runtime, app: FastAPI) -> None:
    s = runtime.settings
    store = SqlOrderStore(runtime.db)
    projector = Projector(runtime.db, store.events, read_models())
    await projector.catch_up()  # before serving: the read models include every past event
    projector.start()
    app.state.projector = projector
    app.state.views = OrderViews(runtime.db, store)
    # A step's call may take as long as the payment provider's timeout, plus the hop.
    participants = HttpParticipants(runtime.client, step_timeout=s.provider_timeout + 1.0)
    runner = SagaRunner(store, participants, runtime.outbox, utc_now,
                        max_attempts=s.saga_step_attempts, backoff=s.saga_backoff,
                        step_deadline=s.saga_step_deadline)
    app.state.orders = Orders(store, runner, HttpCatalog(runtime.client),
                              HttpCart(runtime.client), utc_now, new_id, runtime.outbox,
                              mode=s.saga_mode,
                              sealer=Sealer(shared_secret(s, "card-seal"), CARD_TOKEN),
                              max_in_flight=s.checkout_max_in_flight,
                              max_in_flight_per_customer=s.checkout_max_in_flight_per_customer,
                              units_limit=UnitsLimit(s.max_units_per_customer_per_product_per_day))
    app.state.tracker = ChoreographyTracker(store, runtime.outbox, utc_now)
    # Orchestrated sagas are resumed in either mode: a checkout finishes the way it began.
    resumed = await runner.resume_all()
    if resumed:
        log.info("sagas_resumed", count=resumed)


async def _stop(runtime: Runtime, app: FastAPI) -> None:
    await app.state.orders.runner.stop()
    await app.state.projector.stop()


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[admin_router, router, internal_router,
                                            projections_router],
                          migrations_dir=MIGRATIONS, on_start=_start, on_stop=_stop,
                          publishes=True, subscriptions=subscriptions)

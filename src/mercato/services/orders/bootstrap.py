"""The orders composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.orders.adapters.peers import card_sealer, cart, catalog, participants
from mercato.services.orders.adapters.refund_store import SqlRefundRequestRepository
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.checkout import ChoreographyTracker, SagaRunner
from mercato.services.orders.entrypoints import ERRORS, ROUTERS, subscriptions
from mercato.services.orders.handlers import Orders
from mercato.services.orders.projections import OrderViews, Projector, read_models
from mercato.services.orders.refunds import Refunds, RefundStep
from mercato.services.orders.settings import OrdersSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    s, mine, store = runtime.settings, OrdersSettings(), SqlOrderRepository(runtime.db)
    app.state.projector = projector = Projector(runtime.db, store.events, read_models())
    await projector.catch_up()  # before serving: the read models include every past event
    runtime.run(projector)
    app.state.views = OrderViews(runtime.db, store)
    runner = SagaRunner(store, participants(runtime), runtime.outbox, utc_now, **mine.saga(s))
    runtime.on_stop(runner.stop)
    app.state.orders = Orders(store, runner, catalog(runtime), cart(runtime), utc_now, new_id,
                              runtime.outbox, mode=s.saga_mode, sealer=card_sealer(s),
                              **mine.admission())
    app.state.tracker = ChoreographyTracker(store, runtime.outbox, utc_now)
    app.state.refunds = refunds = Refunds(
        store, SqlRefundRequestRepository(runtime.db), runner.participants, runtime.outbox,
        utc_now, mine.return_window(), mode=s.saga_mode)
    runtime.run(RefundStep(refunds))  # its first pass resumes the open orchestrated ones
    await runner.resume_all()  # orchestrated sagas, in either mode: a checkout ends as it began


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=ROUTERS, migrations_dir=MIGRATIONS, on_start=_wire,
                          publishes=True, subscriptions=subscriptions, errors=ERRORS,
                          facts=lambda app: app.state.orders.store.facts())

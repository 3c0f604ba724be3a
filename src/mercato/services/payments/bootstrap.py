"""The payments composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.chassis.identity import shared_secret
from mercato.chassis.sealing import CARD_TOKEN, Sealer
from mercato.services.payments.api import router
from mercato.services.payments.choreography import CheckoutReactions
from mercato.services.payments.doubt_store import SqlDoubtRepository
from mercato.services.payments.errors import ERRORS
from mercato.services.payments.handlers import Payments
from mercato.services.payments.intents import SqlIntentRepository
from mercato.services.payments.provider import SimulatedProvider
from mercato.services.payments.provider_http import HttpProvider
from mercato.services.payments.reconciler import ProviderReconciler
from mercato.services.payments.refunds import RefundReactions
from mercato.services.payments.store import SqlPaymentRepository
from mercato.services.payments.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    s = runtime.settings
    # The provider over HTTP when there is one (mercato up runs its simulator), else the
    # in-process simulation (unit tests, a single `mercato serve payments`).
    provider = (HttpProvider(s.payment_provider_url, timeout=s.provider_timeout)
                if s.payment_provider_url else
                SimulatedProvider(latency=s.provider_latency, timeout=s.provider_timeout))
    if isinstance(provider, HttpProvider):
        runtime.on_stop(provider.close)  # after the reconciler (stopped last first)
    app.state.payments = Payments(
        db=runtime.db, store=SqlPaymentRepository(runtime.db, new_id), outbox=runtime.outbox,
        provider=provider, provider_timeout=s.provider_timeout, clock=utc_now,
        doubts=SqlDoubtRepository(runtime.db))
    app.state.reconciler = ProviderReconciler(
        app.state.payments, grace=s.provider_doubt_grace, poll=s.provider_reconcile_poll)
    runtime.run(app.state.reconciler)
    app.state.checkout = CheckoutReactions(app.state.payments, SqlIntentRepository(runtime.db),
        Sealer(shared_secret(s, "card-seal"), CARD_TOKEN),
        attempts=s.saga_step_attempts, backoff=s.saga_backoff)
    app.state.refunds = RefundReactions(app.state.payments)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True, subscriptions=subscriptions,
                          errors=ERRORS, facts=lambda app: app.state.payments.facts(),
                          rpc="mercato.services.payments.grpc_api:payments")

"""Identity's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.identity.api import router
from mercato.services.identity.balances import SqlLoyaltyBalanceRepository
from mercato.services.identity.errors import ERRORS
from mercato.services.identity.handlers import Identity, TokenSettings
from mercato.services.identity.key_routes import router as key_router
from mercato.services.identity.key_store import SqlSigningKeyRepository
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.signing import open_key_ring
from mercato.services.identity.store import SqlRefreshTokenRepository, SqlUserRepository
from mercato.services.identity.subscriptions import subscriptions

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    s, db = runtime.settings, runtime.db
    s.require_production("admin_password", "signing_key_file")  # identity's own secrets
    keys = await open_key_ring(db, SqlSigningKeyRepository(db), utc_now, s.access_token_ttl,
                               s.service_dir(runtime.service), s.signing_key_file,
                               leeway=s.clock_skew_leeway)
    app.state.identity = identity = Identity(
        db=db, users=SqlUserRepository(db), refresh_tokens=SqlRefreshTokenRepository(db),
        passwords=Argon2Passwords(), keys=keys, outbox=runtime.outbox, clock=utc_now,
        new_id=new_id, tokens=TokenSettings.of(s), balances=SqlLoyaltyBalanceRepository(db))
    await identity.start(s.admin_email, s.admin_password)
    runtime.verify_with(keys.fetch_jwks)  # its own key ring, not a call to itself
    runtime.run(keys.refresher())


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router, key_router], errors=ERRORS,
                          migrations_dir=MIGRATIONS, on_start=_wire, publishes=True,
                          subscriptions=subscriptions)

"""Identity's composition root: the only place that names concrete adapters."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.identity.api import router
from mercato.services.identity.facts import router as facts_router
from mercato.services.identity.handlers import Identity, TokenSettings
from mercato.services.identity.keys import load_or_create_signing_key
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.store import SqlIdentityStore

MIGRATIONS = Path(__file__).parent / "migrations"


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    s = runtime.settings
    key = await asyncio.to_thread(
        load_or_create_signing_key, s.signing_key_file, s.service_dir(runtime.service)
    )
    passwords = Argon2Passwords()
    await passwords.prepare()
    identity = Identity(
        store=SqlIdentityStore(runtime.db),
        passwords=passwords,
        key=key,
        tokens=TokenSettings(issuer=s.token_issuer, audience=s.token_audience,
                             access_ttl=s.access_token_ttl, refresh_ttl=s.refresh_token_ttl),
        outbox=runtime.outbox,
        clock=utc_now,
        new_id=new_id,
    )
    await identity.ensure_admin(s.admin_email, s.admin_password)
    # Verify our own access tokens from memory instead of calling ourselves for the JWKS.
    runtime.verifier.load_jwks(identity.jwks())
    app.state.identity = identity


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router, facts_router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True)

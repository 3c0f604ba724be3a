"""Identity's composition root: the only place that names concrete adapters."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.chassis.security import TokenVerifier
from mercato.chassis.worker import Worker
from mercato.services.identity.api import router
from mercato.services.identity.facts import router as facts_router
from mercato.services.identity.handlers import Identity, TokenSettings
from mercato.services.identity.key_routes import router as key_router
from mercato.services.identity.key_store import SqlSigningKeyRepository
from mercato.services.identity.keys import (
    forget_dev_key,
    load_or_create_signing_key,
    load_signing_key,
)
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.signing import REFRESH, KeyRing, key_times
from mercato.services.identity.store import SqlIdentityStore

MIGRATIONS = Path(__file__).parent / "migrations"


async def _keys(runtime: Runtime) -> KeyRing:
    """The key ring, holding at least one key: a configured file's key is taken in (a
    new one as a rotation to it); in development the first start takes in the key of
    ``<data dir>/identity/signing_key.pem`` (made if absent; an older installation's
    sessions carry on), and the file is deleted when that key retires."""
    s = runtime.settings
    folder = s.service_dir(runtime.service)
    configured = s.signing_key_file
    keys = KeyRing(SqlSigningKeyRepository(runtime.db), utc_now, key_times(s.access_token_ttl),
                   on_retired=None if configured else partial(forget_dev_key, folder))
    if configured is not None:
        await keys.adopt(await asyncio.to_thread(load_signing_key, configured), rotate_in=True)
        return keys
    await keys.refresh()
    if not keys.states():
        first = await asyncio.to_thread(load_or_create_signing_key, None, folder)
        await keys.adopt(first, rotate_in=False)
    return keys


def _jwks_of(keys: KeyRing):
    async def fetch() -> dict:
        return keys.jwks()
    return fetch


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    s = runtime.settings
    keys = await _keys(runtime)
    passwords = Argon2Passwords()
    await passwords.prepare()
    identity = Identity(
        store=SqlIdentityStore(runtime.db),
        passwords=passwords,
        keys=keys,
        tokens=TokenSettings(issuer=s.token_issuer, audience=s.token_audience,
                             access_ttl=s.access_token_ttl, refresh_ttl=s.refresh_token_ttl),
        outbox=runtime.outbox,
        clock=utc_now,
        new_id=new_id,
    )
    await identity.ensure_admin(s.admin_email, s.admin_password)
    # Verify our own access tokens with our own key ring, not by calling ourselves.
    runtime.verifier = TokenVerifier(_jwks_of(keys), s.token_issuer, s.token_audience)
    app.state.identity = identity
    # Rotations done through another replica, and retirements, within a second.
    app.state.key_refresher = Worker("signing-keys", keys.refresh, poll=REFRESH,
                                     failed="signing_keys_not_refreshed")
    app.state.key_refresher.start()


async def _stop(runtime: Runtime, app: FastAPI) -> None:
    if getattr(app.state, "key_refresher", None) is not None:
        await app.state.key_refresher.stop()


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router, facts_router, key_router],
                          migrations_dir=MIGRATIONS, on_start=_wire, on_stop=_stop,
                          publishes=True)

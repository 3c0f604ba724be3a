"""Fixtures for identity's unit tests: a real migrated database, cheap argon2id, a clock."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from mercato.chassis.messaging import Outbox
from mercato.services.identity.handlers import Identity, TokenSettings
from mercato.services.identity.keys import SigningKey
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.signing import KeyRing, key_times, stored
from mercato.services.identity.store import SqlRefreshTokenRepository, SqlUserRepository
from tests.support.clock import ManualClock
from tests.unit.identity.fakes import InMemorySigningKeyRepository

ISSUER = "mercato-identity"
AUDIENCE = "mercato"
ACCESS_TTL = 900
REFRESH_TTL = 3600


def counting_secrets():
    counter = itertools.count(1)
    return lambda: f"refresh-secret-{next(counter)}"


def key_ring(clock, key: SigningKey | None = None) -> KeyRing:
    """A key ring holding ``key`` (a new one if None), active since long ago."""
    first = replace(stored(key or SigningKey.generate()), activates_at=clock() - timedelta(days=1))
    repository = InMemorySigningKeyRepository([first])
    return KeyRing(repository.db, repository, clock, key_times(ACCESS_TTL), loaded=[first])


def make_identity(db, *, clock=None, key=None, passwords=None, new_secret=None,
                  outbox=None) -> Identity:
    clock = clock or ManualClock()
    return Identity(
        db=db,
        users=SqlUserRepository(db),
        refresh_tokens=SqlRefreshTokenRepository(db),
        passwords=passwords or Argon2Passwords.cheap_for_tests(),
        keys=key_ring(clock, key),
        tokens=TokenSettings(issuer=ISSUER, audience=AUDIENCE, access_ttl=ACCESS_TTL,
                             refresh_ttl=REFRESH_TTL),
        outbox=outbox or Outbox(db, "identity"),
        clock=clock,
        new_id=lambda: str(uuid.uuid4()),
        new_secret=new_secret or counting_secrets(),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def identity(service_db_for, clock) -> Identity:
    return make_identity(await service_db_for("identity"), clock=clock)

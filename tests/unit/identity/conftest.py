"""Fixtures for identity's unit tests: a real migrated database, cheap argon2id, a clock."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mercato.services.identity.handlers import Identity, TokenSettings
from mercato.services.identity.keys import SigningKey
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.store import SqlIdentityStore

ISSUER = "mercato-identity"
AUDIENCE = "mercato"
ACCESS_TTL = 900
REFRESH_TTL = 3600


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def counting_secrets():
    counter = itertools.count(1)
    return lambda: f"refresh-secret-{next(counter)}"


def make_identity(db, *, clock=None, key=None, passwords=None, new_secret=None) -> Identity:
    return Identity(
        store=SqlIdentityStore(db),
        passwords=passwords or Argon2Passwords.cheap_for_tests(),
        key=key or SigningKey.generate(),
        tokens=TokenSettings(issuer=ISSUER, audience=AUDIENCE, access_ttl=ACCESS_TTL,
                             refresh_ttl=REFRESH_TTL),
        clock=clock or FakeClock(),
        new_id=lambda: str(uuid.uuid4()),
        new_secret=new_secret or counting_secrets(),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def identity(service_db_for, clock) -> Identity:
    return make_identity(await service_db_for("identity"), clock=clock)

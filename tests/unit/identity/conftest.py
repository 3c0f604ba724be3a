"""Fixtures for identity's unit tests: its repository ports in memory (held to the SQL
adapters' behaviour by tests/db_contract/test_identity_repository.py) with the in-memory
outbox, cheap argon2id, a clock. ``make_identity(db)`` on a real database instead, for the
tests that race two handles on one."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from mercato.chassis.data import Database
from mercato.chassis.messaging import Outbox
from mercato.services.identity.balances import SqlLoyaltyBalanceRepository
from mercato.services.identity.handlers import Identity, TokenSettings
from mercato.services.identity.keys import SigningKey
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.signing import KeyRing, key_times, stored
from mercato.services.identity.store import SqlRefreshTokenRepository, SqlUserRepository
from tests.support.clock import ManualClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.identity import (
    MemoryLoyaltyBalanceRepository,
    MemoryRefreshTokenRepository,
    MemorySigningKeyRepository,
    MemoryUserRepository,
)
from tests.support.memory.outbox import MemoryOutbox

ISSUER = "mercato-identity"
AUDIENCE = "mercato"
ACCESS_TTL = 900
REFRESH_TTL = 3600


def counting_secrets():
    counter = itertools.count(1)
    return lambda: f"refresh-secret-{next(counter)}"


def key_ring(clock, key: SigningKey | None = None,
             db: MemoryDatabase | None = None) -> KeyRing:
    """A key ring holding ``key`` (a new one if None), active since long ago, in ``db``."""
    first = replace(stored(key or SigningKey.generate()), activates_at=clock() - timedelta(days=1))
    repository = MemorySigningKeyRepository(db or MemoryDatabase(), [first])
    return KeyRing(repository.db, repository, clock, key_times(ACCESS_TTL), loaded=[first])


def make_identity(db: MemoryDatabase | Database | None = None, *, clock=None, key=None,
                  passwords=None, new_secret=None, outbox=None) -> Identity:
    """The handlers on in-memory repositories and outbox of ``db`` (a new
    ``MemoryDatabase`` if None), or, given a real database, on the SQL repositories and the
    outbox table of that database."""
    clock = clock or ManualClock()
    db = MemoryDatabase() if db is None else db
    if isinstance(db, MemoryDatabase):
        users, refresh_tokens = MemoryUserRepository(db), MemoryRefreshTokenRepository(db)
        keys, outbox = key_ring(clock, key, db), outbox or MemoryOutbox(db, "identity")
        balances = MemoryLoyaltyBalanceRepository(db)
    else:
        users, refresh_tokens = SqlUserRepository(db), SqlRefreshTokenRepository(db)
        keys, outbox = key_ring(clock, key), outbox or Outbox(db, "identity")
        balances = SqlLoyaltyBalanceRepository(db)
    return Identity(
        db=db, users=users, refresh_tokens=refresh_tokens,
        passwords=passwords or Argon2Passwords.cheap_for_tests(), keys=keys,
        tokens=TokenSettings(issuer=ISSUER, audience=AUDIENCE, access_ttl=ACCESS_TTL,
                             refresh_ttl=REFRESH_TTL),
        outbox=outbox, clock=clock, new_id=lambda: str(uuid.uuid4()),
        new_secret=new_secret or counting_secrets(), balances=balances,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def identity(clock) -> Identity:
    """The handlers on the in-memory repositories and outbox: no database."""
    return make_identity(clock=clock)

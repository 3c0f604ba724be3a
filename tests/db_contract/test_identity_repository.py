"""Identity's repository ports (services/identity/ports.py), held to one behaviour on
every implementation: the SQL adapters on SQLite and on PostgreSQL, and the in-memory
fakes the handlers' unit tests run on (tests/support/memory/identity.py); and two replicas'
key rings sharing one database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from mercato.chassis.data import Conflict
from mercato.services.identity.balances import SqlLoyaltyBalanceRepository
from mercato.services.identity.domain import (
    DuplicateEmail,
    KeyAlreadyKnown,
    RefreshToken,
    StoredKey,
    User,
)
from mercato.services.identity.key_store import SqlSigningKeyRepository
from mercato.services.identity.keys import SigningKey, load_pem
from mercato.services.identity.signing import LEAD, KeyRing, key_times, stored
from mercato.services.identity.store import SqlRefreshTokenRepository, SqlUserRepository
from tests.db_contract import kit
from tests.support.clock import ManualClock
from tests.support.memory.identity import (
    MemoryLoyaltyBalanceRepository,
    MemoryRefreshTokenRepository,
    MemorySigningKeyRepository,
    MemoryUserRepository,
)

SERVICE = "identity"  # the database of conftest ``contract_db`` and ``service_db_url``
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def user(uid: str = "u1", email: str = "ada@example.com", **fields) -> User:
    return User(**{"id": uid, "email": email, "name": "Ada", "password_hash": "$argon2id$h",
                   "roles": ("customer",), "created_at": "2026-01-02T03:04:05Z", **fields})


def token(tid: str, family: str = "f1", at: datetime = T0, **fields) -> RefreshToken:
    return RefreshToken(**{"id": tid, "family_id": family, "user_id": "u1",
                           "token_hash": f"hash-{tid}", "created_at": at,
                           "expires_at": at + timedelta(hours=1), **fields})


def a_key(activates_at: datetime = T0, **times) -> tuple[SigningKey, StoredKey]:
    key = SigningKey.generate()
    return key, replace(stored(key), created_at=T0, activates_at=activates_at, **times)


@pytest.fixture
async def repo(where, contract_db) -> SimpleNamespace:
    """``db``, ``users``, ``tokens``, ``keys`` and ``balances`` on one database, with Ada
    stored."""
    db = contract_db
    repos = (SimpleNamespace(db=db, users=MemoryUserRepository(db),
                             tokens=MemoryRefreshTokenRepository(db),
                             keys=MemorySigningKeyRepository(db),
                             balances=MemoryLoyaltyBalanceRepository(db))
             if where == "memory" else
             SimpleNamespace(db=db, users=SqlUserRepository(db),
                             tokens=SqlRefreshTokenRepository(db),
                             keys=SqlSigningKeyRepository(db),
                             balances=SqlLoyaltyBalanceRepository(db)))
    await _with_ada(repos)
    return repos


async def _with_ada(repos: SimpleNamespace) -> None:
    async with repos.db.transaction() as tx:
        await repos.users.add(tx, user())


async def test_a_user_is_found_by_id_and_by_exact_email(repo):
    async with repo.db.transaction() as tx:
        await repo.users.add(tx, user("u2", "bob@example.com", roles=("customer", "admin")))
        assert (await repo.users.by_email("bob@example.com", tx)).id == "u2"  # seen inside
    assert await repo.users.get("u2") == user("u2", "bob@example.com",
                                              roles=("customer", "admin"))
    assert await repo.users.by_email("ada@example.com") == user()
    assert await repo.users.by_email("ADA@example.com") is None  # emails come normalized
    assert await repo.users.get("nobody") is None


async def test_a_taken_email_or_id_is_a_duplicate_email_and_adds_nothing(repo):
    for clash in (user("u2"), user("u1", "other@example.com")):
        with pytest.raises(DuplicateEmail, match="a user with this email already exists"):
            async with repo.db.transaction() as tx:
                await repo.users.add(tx, clash)
    assert await repo.users.get("u2") is None
    assert await repo.users.by_email("other@example.com") is None


async def test_a_new_password_hash_replaces_the_users_only(repo):
    async with repo.db.transaction() as tx:
        await repo.users.add(tx, user("u2", "bob@example.com"))
        await repo.users.set_password_hash(tx, "u1", "$argon2id$new")
        await repo.users.set_password_hash(tx, "nobody", "$argon2id$new")
    assert await repo.users.get("u1") == user(password_hash="$argon2id$new")
    assert (await repo.users.get("u2")).password_hash == "$argon2id$h"


async def test_a_transaction_that_fails_leaves_nothing_behind(repo):
    _, key = a_key()
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await repo.users.add(tx, user("u2", "bob@example.com"))
            await repo.users.set_password_hash(tx, "u1", "$argon2id$new")
            await repo.tokens.add(tx, token("t1"))
            await repo.keys.add(tx, key)
            raise RuntimeError("the handler refused after writing")
    assert (await repo.users.get("u2"), await repo.tokens.by_hash("hash-t1")) == (None, None)
    assert (await repo.users.get("u1")).password_hash == "$argon2id$h"
    assert await repo.keys.all() == []


async def test_a_token_is_stored_unrevoked_and_found_by_its_digest(repo):
    async with repo.db.transaction() as tx:
        await repo.tokens.add(tx, token("t1", revoked_at=T0, replaced_by="t0"))
        assert (await repo.tokens.by_hash("hash-t1", tx)).id == "t1"  # seen inside
    assert await repo.tokens.by_hash("hash-t1") == token("t1")
    assert await repo.tokens.by_hash("hash-nope") is None


async def test_a_taken_token_id_or_digest_is_a_conflict(repo):
    async with repo.db.transaction() as tx:
        await repo.tokens.add(tx, token("t1"))
    for clash in (token("t1", token_hash="hash-other"), token("t2", token_hash="hash-t1")):
        with pytest.raises(Conflict):
            async with repo.db.transaction() as tx:
                await repo.tokens.add(tx, clash)
    assert [t.id for t in await repo.tokens.family("f1")] == ["t1"]


async def test_a_family_is_listed_in_creation_order_then_by_id(repo):
    async with repo.db.transaction() as tx:
        for tid, family, at in (("t3", "f1", T0 + timedelta(seconds=2)), ("t2", "f1", T0),
                                ("t1", "f1", T0), ("t9", "f2", T0 + timedelta(seconds=1))):
            await repo.tokens.add(tx, token(tid, family, at))
    assert [t.id for t in await repo.tokens.family("f1")] == ["t1", "t2", "t3"]
    assert await repo.tokens.family("f3") == []


async def test_a_token_is_revoked_once_and_a_family_counts_what_it_revoked(repo):
    async with repo.db.transaction() as tx:
        for tid in ("t1", "t2", "t3"):
            await repo.tokens.add(tx, token(tid))
        await repo.tokens.add(tx, token("t9", "f2"))
        await repo.tokens.revoke(tx, "t1", T0, replaced_by="t2")
        await repo.tokens.revoke(tx, "t1", T0 + timedelta(minutes=1), replaced_by="t3")
    assert await repo.tokens.by_hash("hash-t1") == token("t1", revoked_at=T0, replaced_by="t2")
    later = T0 + timedelta(minutes=2)
    async with repo.db.transaction() as tx:
        assert await repo.tokens.revoke_family(tx, "f1", later) == 2
        assert await repo.tokens.revoke_family(tx, "f1", later) == 0
    assert [(t.id, t.revoked_at, t.replaced_by) for t in await repo.tokens.family("f1")] == [
        ("t1", T0, "t2"), ("t2", later, None), ("t3", later, None)]
    assert (await repo.tokens.by_hash("hash-t9")).revoked_at is None


async def test_a_key_is_stored_and_read_back_whole(repo):
    key, row = a_key(T0 + timedelta(microseconds=500), retire_after=T0 + timedelta(hours=1))
    async with repo.db.transaction() as tx:
        await repo.keys.add(tx, row)
        assert await repo.keys.all(tx) == [row]  # seen inside
    (back,) = await repo.keys.all()
    assert back == row
    assert load_pem(back.private_pem).kid == key.kid


async def test_keys_are_listed_by_when_they_activate_whatever_their_fractions(repo):
    _, later = a_key(T0 + timedelta(seconds=1))
    _, earlier = a_key(T0 + timedelta(microseconds=999_999))  # "...05.999999Z" vs "...06Z"
    async with repo.db.transaction() as tx:
        await repo.keys.add(tx, later)
        await repo.keys.add(tx, earlier)
    assert [k.kid for k in await repo.keys.all()] == [earlier.kid, later.kid]


async def test_a_kid_is_stored_once(repo):
    _, row = a_key()
    async with repo.db.transaction() as tx:
        await repo.keys.add(tx, row)
    with pytest.raises(KeyAlreadyKnown, match=f"key {row.kid} is known already"):
        async with repo.db.transaction() as tx:
            await repo.keys.add(tx, replace(row, activates_at=T0 + timedelta(hours=1)))
    assert await repo.keys.all() == [row]


async def test_retirement_dates_are_set_and_erasing_drops_the_private_half_once(repo):
    _, row = a_key()
    async with repo.db.transaction() as tx:
        await repo.keys.add(tx, row)
        await repo.keys.set_retire_after(
            tx, replace(row, retire_after=T0 + timedelta(minutes=5), private_pem=None))
        await repo.keys.set_retire_after(tx, a_key()[1])  # not stored: nothing happens
    async with repo.db.transaction() as tx:
        await repo.keys.erase(tx, row.kid, T0 + timedelta(minutes=6))
        await repo.keys.erase(tx, row.kid, T0 + timedelta(minutes=7))  # already: kept as it was
        await repo.keys.erase(tx, "no-such-kid", T0)
    (back,) = await repo.keys.all()
    assert back.retire_after == T0 + timedelta(minutes=5)
    assert back.private_pem is None and back.retired_at == T0 + timedelta(minutes=6)
    assert back.public_jwk == row.public_jwk  # still listed


async def test_replicas_sharing_the_database_agree_on_the_key_that_signs(service_db_url,
                                                                          tmp_path):
    async with kit.handles(SERVICE, service_db_url, tmp_path) as (db, other_db):
        clock, times = ManualClock(), key_times(60)
        first = KeyRing(db, SqlSigningKeyRepository(db), clock, times)
        second = KeyRing(other_db, SqlSigningKeyRepository(other_db), clock, times)
        # Both start on an empty table with a key of their own: one key wins.
        assert await first.adopt(SigningKey.generate(), rotate_in=False)
        assert not await second.adopt(SigningKey.generate(), rotate_in=False)
        assert second.signer().kid == first.signer().kid
        rotation = await second.rotate()
        await first.refresh()
        assert [k["kid"] for k in first.jwks()["keys"]] == [rotation.previous.kid,
                                                            rotation.new.kid]
        clock.advance(LEAD)
        assert first.signer().kid == second.signer().kid == rotation.new.kid
        clock.now = rotation.previous.retire_after
        await first.refresh()
        (old,) = [k for k in await SqlSigningKeyRepository(other_db).all()
                  if k.kid == rotation.previous.kid]
        assert old.private_pem is None and old.retired_at == clock()


async def test_a_loyalty_balance_is_zero_until_loyalty_announces_one(repo):
    assert await repo.balances.points_of("u1") == 0
    async with repo.db.transaction() as tx:
        assert await repo.balances.record(tx, "u1", 19, 1, "2026-12-07T08:00:00Z")
    assert await repo.balances.points_of("u1") == 19
    assert await repo.balances.points_of("u2") == 0


async def test_only_a_later_sequence_replaces_a_loyalty_balance(repo):
    async with repo.db.transaction() as tx:
        assert await repo.balances.record(tx, "u1", 24, 2, "2026-12-07T08:00:00Z")
        assert not await repo.balances.record(tx, "u1", 19, 1, "2026-12-07T08:00:01Z")
        assert not await repo.balances.record(tx, "u1", 99, 2, "2026-12-07T08:00:02Z")
        assert await repo.balances.record(tx, "u1", 5, 3, "2026-12-07T08:00:03Z")
    assert await repo.balances.points_of("u1") == 5

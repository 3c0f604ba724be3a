"""The signing-key table on real SQLite (identity's migrated database), and two replicas'
key rings sharing one database file."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mercato.chassis.data.db import SqliteDatabase
from mercato.services.identity.domain import KeyAlreadyKnown
from mercato.services.identity.key_store import SqlSigningKeyRepository
from mercato.services.identity.keys import SigningKey, load_pem
from mercato.services.identity.signing import LEAD, KeyRing, key_times, stored
from tests.support.clock import ManualClock

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def a_key(activates_at: datetime = T0, **times) -> tuple[SigningKey, object]:
    key = SigningKey.generate()
    return key, replace(stored(key), created_at=T0, activates_at=activates_at, **times)


async def test_a_key_is_stored_and_read_back_whole(service_db_for):
    repository = SqlSigningKeyRepository(await service_db_for("identity"))
    key, row = a_key(T0 + timedelta(microseconds=500), retire_after=T0 + timedelta(hours=1))
    async with repository.db.transaction() as tx:
        await repository.add(tx, row)
    (back,) = await repository.all()
    assert back == row
    assert load_pem(back.private_pem).kid == key.kid


async def test_keys_are_listed_by_when_they_activate_whatever_their_fractions(service_db_for):
    repository = SqlSigningKeyRepository(await service_db_for("identity"))
    _, later = a_key(T0 + timedelta(seconds=1))
    _, earlier = a_key(T0 + timedelta(microseconds=999_999))  # "...05.999999Z" vs "...06Z"
    async with repository.db.transaction() as tx:
        await repository.add(tx, later)
        await repository.add(tx, earlier)
    assert [k.kid for k in await repository.all()] == [earlier.kid, later.kid]


async def test_a_kid_is_stored_once_and_a_failed_transaction_leaves_nothing(service_db_for):
    repository = SqlSigningKeyRepository(await service_db_for("identity"))
    _, row = a_key()
    _, other = a_key()
    async with repository.db.transaction() as tx:
        await repository.add(tx, row)
    with pytest.raises(KeyAlreadyKnown):
        async with repository.db.transaction() as tx:
            await repository.add(tx, other)
            await repository.add(tx, row)
    assert [k.kid for k in await repository.all()] == [row.kid]


async def test_retirement_dates_are_set_and_erasing_drops_the_private_half_once(service_db_for):
    repository = SqlSigningKeyRepository(await service_db_for("identity"))
    _, row = a_key()
    async with repository.db.transaction() as tx:
        await repository.add(tx, row)
        await repository.set_retire_after(tx, replace(row, retire_after=T0 + timedelta(minutes=5)))
    async with repository.db.transaction() as tx:
        await repository.erase(tx, row.kid, T0 + timedelta(minutes=6))
        await repository.erase(tx, row.kid, T0 + timedelta(minutes=7))  # already: kept as it was
    (back,) = await repository.all()
    assert back.retire_after == T0 + timedelta(minutes=5)
    assert back.private_pem is None and back.retired_at == T0 + timedelta(minutes=6)
    assert back.public_jwk == row.public_jwk  # still listed


async def test_replicas_sharing_the_database_agree_on_the_key_that_signs(service_db_for):
    db = await service_db_for("identity")
    other_db = SqliteDatabase(db.path)  # another replica's connection to the same file
    clock = ManualClock()
    times = key_times(60)
    first = KeyRing(db, SqlSigningKeyRepository(db), clock, times)
    second = KeyRing(other_db, SqlSigningKeyRepository(other_db), clock, times)
    try:
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
    finally:
        await other_db.close()

"""Rotating the keys that sign access tokens: the rules of KeySet, the key ring of each
replica, and tokens across a rotation as the chassis verifier sees them."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import jwt
import pytest

from mercato.chassis import security
from mercato.chassis.security import CLOCK_SKEW, AuthError, TokenVerifier
from mercato.services.identity.domain import (
    KeyAlreadyKnown,
    KeySet,
    KeyState,
    KeyTimes,
    RotationInProgress,
)
from mercato.services.identity.keys import SigningKey
from mercato.services.identity.signing import LEAD, KeyRing, key_times, stored
from tests.support.clock import ManualClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.identity import MemorySigningKeyRepository
from tests.unit.identity.conftest import ACCESS_TTL, AUDIENCE, ISSUER, make_identity

TIMES = KeyTimes(lead=timedelta(seconds=5), keep=timedelta(seconds=100))


def ring(clock, repository=None, **kwargs) -> KeyRing:
    repository = repository or MemorySigningKeyRepository(MemoryDatabase())
    return KeyRing(repository.db, repository, clock, TIMES, **kwargs)


async def started(clock, repository=None, **kwargs) -> KeyRing:
    keys = ring(clock, repository, **kwargs)
    assert await keys.adopt(SigningKey.generate(), rotate_in=False)
    return keys


def kids(jwks: dict) -> list[str]:
    return [k["kid"] for k in jwks["keys"]]


def test_an_old_key_verifies_for_the_longest_token_life_plus_skew_and_lead():
    times = key_times(900)
    assert times.lead == timedelta(seconds=LEAD)
    assert times.keep == timedelta(seconds=900 + CLOCK_SKEW + LEAD)


def test_the_first_key_signs_at_once_and_a_rotation_waits_for_the_lead():
    clock = ManualClock()
    first, second = stored(SigningKey.generate()), stored(SigningKey.generate())
    added = KeySet(()).first(first, clock())
    assert added.activates_at == clock()
    assert KeySet((added,)).first(second, clock()) is None  # only for an empty set

    new, previous = KeySet((added,)).rotate(second, clock(), TIMES)
    assert new.activates_at == clock() + TIMES.lead
    assert previous.kid == added.kid
    assert previous.retire_after == new.activates_at + TIMES.keep


def test_states_follow_from_the_times_of_a_rotation():
    clock = ManualClock()
    old = KeySet(()).first(stored(SigningKey.generate()), clock())
    new, demoted = KeySet((old,)).rotate(stored(SigningKey.generate()), clock(), TIMES)
    keys = KeySet((demoted, new))
    now = clock()
    assert (keys.state(demoted, now), keys.state(new, now)) == (KeyState.ACTIVE,
                                                                KeyState.PENDING)
    now = new.activates_at
    assert (keys.state(demoted, now), keys.state(new, now)) == (KeyState.VERIFY_ONLY,
                                                                KeyState.ACTIVE)
    now = demoted.retire_after
    assert (keys.state(demoted, now), keys.state(new, now)) == (KeyState.RETIRED,
                                                                KeyState.ACTIVE)
    assert [k.kid for k in keys.published(now)] == [new.kid]
    assert [k.kid for k in keys.due_for_erasure(now)] == [demoted.kid]
    assert keys.due_for_erasure(now - timedelta(seconds=1)) == []


def test_a_second_rotation_waits_until_the_first_key_is_active():
    clock = ManualClock()
    old = KeySet(()).first(stored(SigningKey.generate()), clock())
    new, demoted = KeySet((old,)).rotate(stored(SigningKey.generate()), clock(), TIMES)
    keys = KeySet((demoted, new))
    with pytest.raises(RotationInProgress, match=new.kid):
        keys.rotate(stored(SigningKey.generate()), clock(), TIMES)
    later = new.activates_at
    third, again = keys.rotate(stored(SigningKey.generate()), later, TIMES)
    assert again.kid == new.kid and third.activates_at == later + TIMES.lead
    with pytest.raises(KeyAlreadyKnown):
        keys.rotate(replace(new, retire_after=None), later, TIMES)


async def test_a_rotation_publishes_the_new_key_before_it_signs_with_it():
    clock = ManualClock()
    keys = await started(clock)
    old = keys.signer().kid
    rotation = await keys.rotate()
    assert rotation.previous.kid == old
    assert kids(keys.jwks()) == [old, rotation.new.kid]
    assert keys.signer().kid == old  # published first: every replica learns it
    clock.advance(LEAD - 1)
    assert keys.signer().kid == old
    clock.advance(1)
    assert keys.signer().kid == rotation.new.kid
    assert kids(keys.jwks()) == [old, rotation.new.kid]
    (old_jwk,) = [k for k in keys.jwks()["keys"] if k["kid"] == old]
    assert old_jwk["retire_at"] == int(rotation.previous.retire_after.timestamp())


async def test_a_retired_key_leaves_the_jwks_and_its_private_half_is_erased_once():
    clock = ManualClock()
    repository = MemorySigningKeyRepository(MemoryDatabase())
    retired: list[str] = []
    keys = await started(clock, repository, on_retired=retired.append)
    old = keys.signer().kid
    rotation = await keys.rotate()
    clock.now = rotation.previous.retire_after - timedelta(seconds=1)
    await keys.refresh()
    assert old in kids(keys.jwks()) and repository.rows[old].private_pem is not None
    clock.advance(1)
    assert kids(keys.jwks()) == [rotation.new.kid]  # by its time, before any write
    await keys.refresh()
    assert repository.rows[old].private_pem is None
    assert repository.rows[old].retired_at == clock()
    assert retired == [old]
    await keys.refresh()
    assert retired == [old]
    assert dict((k.kid, s) for k, s in keys.states()) == {
        old: KeyState.RETIRED, rotation.new.kid: KeyState.ACTIVE}


async def test_another_replica_signs_with_the_new_key_once_it_has_read_the_rotation():
    clock = ManualClock()
    repository = MemorySigningKeyRepository(MemoryDatabase())
    first = await started(clock, repository)
    second = ring(clock, repository)
    await second.refresh()
    rotation = await first.rotate()
    assert rotation.new.kid not in kids(second.jwks())
    await second.refresh()  # its worker does, every REFRESH seconds, well within LEAD
    assert rotation.new.kid in kids(second.jwks())
    clock.advance(LEAD)
    assert second.signer().kid == first.signer().kid == rotation.new.kid


async def test_a_configured_key_file_with_a_new_key_is_a_rotation_to_it_and_a_known_one_nothing():
    clock = ManualClock()
    repository = MemorySigningKeyRepository(MemoryDatabase())
    keys = await started(clock, repository)
    old = keys.signer().kid
    configured = SigningKey.generate()
    assert not await ring(clock, repository).adopt(configured, rotate_in=False)  # dev: one
    assert await keys.adopt(configured, rotate_in=True)
    assert keys.signer().kid == old
    clock.advance(LEAD)
    assert keys.signer().kid == configured.kid
    assert not await keys.adopt(configured, rotate_in=True)  # every restart: nothing new
    assert len(repository.rows) == 2


async def test_a_new_key_file_during_a_rotation_waits_for_the_next_start():
    clock = ManualClock()
    repository = MemorySigningKeyRepository(MemoryDatabase())
    keys = await started(clock, repository)
    rotation = await keys.rotate()
    configured = SigningKey.generate()
    assert not await keys.adopt(configured, rotate_in=True)  # starts, keys unchanged
    assert configured.kid not in repository.rows
    clock.advance(LEAD)
    assert await ring(clock, repository).adopt(configured, rotate_in=True)
    assert repository.rows[rotation.new.kid].retire_after is not None


async def test_a_rotation_that_fails_changes_nothing():
    clock = ManualClock()
    repository = MemorySigningKeyRepository(MemoryDatabase())
    keys = await started(clock, repository)
    await keys.rotate()
    before = dict(repository.rows)
    with pytest.raises(RotationInProgress):
        await keys.rotate()
    assert repository.rows == before


def verifier_of(identity, clock, fetches: list) -> TokenVerifier:
    async def fetch() -> dict:
        fetches.append(kids(identity.jwks()))
        return identity.jwks()
    return TokenVerifier(fetch, ISSUER, AUDIENCE, now=lambda: clock().timestamp())


async def sign_in(identity) -> str:
    return (await identity.sign_in("ada@example.com", "correct horse"))["access_token"]


async def test_sessions_verify_across_a_rotation_and_a_retired_key_is_refused():
    clock = ManualClock()
    identity = make_identity(clock=clock)
    await identity.register_user("ada@example.com", "correct horse", "Ada")
    fetches: list = []
    verifier = verifier_of(identity, clock, fetches)
    before = await sign_in(identity)
    old_key = identity.key

    rotation = await identity.keys.rotate()
    # A set fetched between the rotation and the new key's first token holds it already.
    assert (await verifier.verify(before)).email == "ada@example.com"
    clock.advance(LEAD)
    after = await sign_in(identity)
    assert jwt.get_unverified_header(after)["kid"] == rotation.new.kid
    assert jwt.get_unverified_header(before)["kid"] == old_key.kid
    assert (await verifier.verify(after)).email == "ada@example.com"
    assert fetches == [[old_key.kid, rotation.new.kid]]  # no fetch, no refusal, for it

    clock.now = rotation.previous.retire_after
    forged = old_key.sign({**jwt.decode(after, options={"verify_signature": False}),
                           "roles": ["customer", "admin"]})
    with pytest.raises(AuthError, match="retired"):
        await verifier.verify(forged)
    with pytest.raises(AuthError, match="retired"):  # nor the one it verified before
        await verifier.verify(before)
    assert (await verifier.verify(after)).email == "ada@example.com"


async def test_a_verifier_forgets_tokens_only_when_a_key_leaves_or_changes():
    clock = ManualClock()
    keys = await started(clock)
    token = keys.signer().sign({"sub": "u1", "typ": "access", "iss": ISSUER, "aud": AUDIENCE,
                                "exp": int(clock().timestamp()) + ACCESS_TTL})
    verifier = TokenVerifier(None, ISSUER, AUDIENCE)
    verifier.load_jwks(keys.jwks())
    await verifier.verify(token)
    await keys.rotate()
    verifier.load_jwks(keys.jwks())  # grown by a new key; the old one now says retire_at
    assert len(verifier.verified) == 1
    clock.advance(TIMES.lead.total_seconds() + TIMES.keep.total_seconds())
    verifier.load_jwks(keys.jwks())  # the old key is gone
    assert len(verifier.verified) == 0


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def time() -> float:
        return time.time()


@pytest.fixture
def monotonic(monkeypatch) -> Monotonic:
    """The verifier's monotonic clock, and only the verifier's (not the event loop's)."""
    fake = Monotonic()
    monkeypatch.setattr(security, "time", fake)
    return fake


def user_token(key: SigningKey, clock) -> str:
    return key.sign({"sub": "u1", "typ": "access", "iss": ISSUER, "aud": AUDIENCE,
                     "exp": int(clock().timestamp()) + ACCESS_TTL})


async def test_an_idle_verifier_drops_a_retired_key_when_its_copy_is_old(monotonic):
    clock = ManualClock()
    keys = await started(clock)
    old = keys.signer()
    verifier = TokenVerifier(lambda: _value(keys.jwks()), ISSUER, AUDIENCE,
                             now=lambda: clock().timestamp())
    verifier.load_jwks(keys.jwks())  # fetched before the rotation: no retire_at in it
    await keys.rotate()
    clock.advance(TIMES.lead.total_seconds() + TIMES.keep.total_seconds())
    await verifier.verify(user_token(old, clock))  # its copy is young: still trusted
    monotonic.now += security.JWKS_MAX_AGE
    with pytest.raises(AuthError, match="unknown key"):
        await verifier.verify(user_token(old, clock))


async def test_an_old_copy_that_cannot_be_fetched_again_keeps_verifying(monotonic):
    clock = ManualClock()
    keys = await started(clock)
    fetches = []

    async def failing() -> dict:
        fetches.append(monotonic.now)
        raise ConnectionError("identity is down")

    verifier = TokenVerifier(failing, ISSUER, AUDIENCE)
    verifier.load_jwks(keys.jwks())
    monotonic.now += security.JWKS_MAX_AGE
    assert (await verifier.verify(user_token(keys.signer(), clock))).subject == "u1"
    clock.advance(1)
    await verifier.verify(user_token(keys.signer(), clock))  # no new attempt yet
    assert len(fetches) == 1
    monotonic.now += security.STALE_RETRY
    clock.advance(1)
    await verifier.verify(user_token(keys.signer(), clock))
    assert len(fetches) == 2


async def _value(value):
    return value

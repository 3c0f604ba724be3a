"""The keys that sign access tokens: which one signs, the JWKS, rotation, retirement.

Keys live in identity's database, shared by its replicas; each replica keeps a copy in
memory (``refresh``, once a second, by the ``signing-keys`` worker: one small SELECT),
so signing a token and serving the JWKS read no database. A rotation adds a key that is
published at once and signs only ``KeyTimes.lead`` later, by which time every replica's
copy (and so every JWKS answer) holds it: a verifier that meets its first token and
fetches the JWKS from any replica finds it. The key it replaces stops signing then and
verifies for ``KeyTimes.keep`` more (the longest access-token life, the verifiers' clock
skew, a lagging replica), then is retired: dropped from the JWKS, its private half erased
by the worker. States follow from these times (domain ``KeySet``), so no replica has to
write a state change for the others to see it.

Every change reads the table and decides from what it finds (a key pending already, one
due for erasure), so it holds ``tx.lock(KEYS_LOCK)`` first: SQLite's one writer serialises
the replicas already, PostgreSQL needs the lock for the second to see the first's change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from mercato.chassis import Database
from mercato.chassis.clock import Clock, iso
from mercato.chassis.logging import get_logger
from mercato.chassis.security import CLOCK_SKEW
from mercato.chassis.worker import Worker
from mercato.services.identity.domain import (
    IdentityError,
    KeySet,
    KeyState,
    KeyTimes,
    RotationInProgress,
    StoredKey,
)
from mercato.services.identity.keys import (
    ALGORITHM,
    SigningKey,
    forget_dev_key,
    load_or_create_signing_key,
    load_pem,
    load_signing_key,
)
from mercato.services.identity.ports import SigningKeyRepository

log = get_logger(__name__)
LEAD = 5.0  # seconds a new key is published before it signs: several refreshes
REFRESH = 1.0  # seconds between two reads of the key table by each replica
KEYS_LOCK = "signing-keys:all"  # every change to the table, by any replica


def key_times(access_ttl: int, leeway: int = CLOCK_SKEW) -> KeyTimes:
    """A new key signs ``LEAD`` after the rotation; the old one verifies for the longest
    access-token life, plus the verifiers' clock skew (they accept a token that long past
    its exp) and ``LEAD`` again for a replica whose copy lags."""
    return KeyTimes(lead=timedelta(seconds=LEAD),
                    keep=timedelta(seconds=access_ttl + leeway + LEAD))


class NoSigningKey(IdentityError):
    pass


@dataclass(frozen=True)
class Rotation:
    new: StoredKey
    previous: StoredKey | None


def stored(key: SigningKey) -> StoredKey:
    """``key`` as the table keeps it; its times are set by the rule that adds it."""
    epoch = datetime.fromtimestamp(0, UTC)
    return StoredKey(kid=key.kid, public_jwk=key.public_jwk(), private_pem=key.pem(),
                     created_at=epoch, activates_at=epoch)


class KeyRing:
    """Identity's signing keys (see the module's docstring)."""

    def __init__(self, db: Database, repository: SigningKeyRepository, clock: Clock,
                 times: KeyTimes, loaded: Sequence[StoredKey] = (),
                 on_retired: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.repository = repository
        self.on_retired = on_retired  # e.g. delete the development key file
        self.clock = clock
        self.times = times
        self._set = KeySet(tuple(loaded))
        self._parsed: dict[str, SigningKey] = {}

    # -- reads, from this replica's copy --------------------------------------------
    def signer(self) -> SigningKey:
        """The key to sign with now."""
        current = self._set.signer(self.clock())
        if current is None or current.private_pem is None:
            raise NoSigningKey("identity has no active signing key")
        key = self._parsed.get(current.kid)
        if key is None:
            key = self._parsed[current.kid] = load_pem(current.private_pem)
        return key

    def jwks(self) -> dict:
        """The public keys a verifier needs now. A key that will retire says when
        (``retire_at``, seconds since the epoch; verifiers that know the member stop
        trusting it then, others when they next fetch the set)."""
        keys = []
        for key in self._set.published(self.clock()):
            jwk = {**key.public_jwk, "kid": key.kid, "alg": ALGORITHM, "use": "sig"}
            if key.retire_after is not None:
                jwk["retire_at"] = int(key.retire_after.timestamp())
            keys.append(jwk)
        return {"keys": keys}

    def refresher(self) -> Worker:
        """The loop that reads the key table every ``REFRESH`` seconds: rotations done
        through another replica, and retirements, reach this one within a second."""
        return Worker("signing-keys", self.refresh, poll=REFRESH,
                      failed="signing_keys_not_refreshed")

    async def fetch_jwks(self) -> dict:
        """``jwks`` as a verifier's fetch: identity checks its own tokens with its ring."""
        return self.jwks()

    def states(self) -> list[tuple[StoredKey, KeyState]]:
        now = self.clock()
        return [(k, self._set.state(k, now)) for k in self._set.keys]

    # -- changes, in the shared table ------------------------------------------------
    async def refresh(self) -> None:
        """Read the table again; erase the private half of keys that have retired."""
        keys = await self.repository.all()
        now = self.clock()
        erased: list[str] = []
        if KeySet(tuple(keys)).due_for_erasure(now):
            async with self.db.transaction() as tx:
                await tx.lock(KEYS_LOCK)
                for key in KeySet(tuple(await self.repository.all(tx))).due_for_erasure(now):
                    await self.repository.erase(tx, key.kid, now)
                    erased.append(key.kid)
                keys = await self.repository.all(tx)
        self._load(keys)
        for kid in erased:
            log.info("signing_key_retired", kid=kid)
            if self.on_retired is not None:
                await asyncio.to_thread(self.on_retired, kid)

    async def adopt(self, key: SigningKey, *, rotate_in: bool) -> bool:
        """Take ``key`` into the table if it is not there: as the first key when there
        is none; else, with ``rotate_in`` (a configured key file that holds a new key),
        as a rotation to it. True if added."""
        now = self.clock()
        added = previous = None
        async with self.db.transaction() as tx:
            await tx.lock(KEYS_LOCK)
            current = KeySet(tuple(await self.repository.all(tx)))
            known = next((k for k in current.keys if k.kid == key.kid), None)
            if known is None:
                added = current.first(stored(key), now)
                if added is None and rotate_in:
                    try:
                        added, previous = current.rotate(stored(key), now, self.times)
                    except RotationInProgress as exc:
                        # Start anyway, with the keys there are; the next start takes it.
                        log.warning("configured_signing_key_not_taken", kid=key.kid,
                                    reason=str(exc))
                if added is not None:
                    await self.repository.add(tx, added)
                if previous is not None:
                    await self.repository.set_retire_after(tx, previous)
            elif current.state(known, now) is KeyState.RETIRED:
                log.warning("configured_signing_key_retired", kid=key.kid)
            keys = await self.repository.all(tx)
        self._load(keys)
        if added is not None:
            log.info("signing_key_adopted", kid=added.kid, activates_at=iso(added.activates_at))
        return added is not None

    async def rotate(self) -> Rotation:
        """A new key, active after the lead; the current one verify-only until its tokens
        have expired. RotationInProgress while a new key is still pending."""
        now = self.clock()
        async with self.db.transaction() as tx:
            await tx.lock(KEYS_LOCK)
            new, previous = KeySet(tuple(await self.repository.all(tx))).rotate(
                stored(SigningKey.generate()), now, self.times)
            await self.repository.add(tx, new)
            if previous is not None:
                await self.repository.set_retire_after(tx, previous)
            keys = await self.repository.all(tx)
        self._load(keys)
        log.info("signing_key_rotated", kid=new.kid, activates_at=iso(new.activates_at),
                 previous=previous.kid if previous else None,
                 previous_retires=iso(previous.retire_after) if previous else None)
        return Rotation(new, previous)

    def _load(self, keys: list[StoredKey]) -> None:
        self._set = KeySet(tuple(keys))
        for kid in set(self._parsed) - {k.kid for k in keys if k.private_pem}:
            del self._parsed[kid]


async def open_key_ring(db: Database, repository: SigningKeyRepository, clock: Clock,
                        access_ttl: int, folder: Path, configured: Path | None,
                        leeway: int = CLOCK_SKEW) -> KeyRing:
    """The key ring, holding at least one key: a ``configured`` file's key is taken in (a
    new one as a rotation to it); in development the first start takes in the key of
    ``<folder>/signing_key.pem`` (made if absent; an older installation's sessions carry
    on), and the file is deleted when that key retires."""
    keys = KeyRing(db, repository, clock, key_times(access_ttl, leeway),
                   on_retired=None if configured else partial(forget_dev_key, folder))
    if configured is not None:
        await keys.adopt(await asyncio.to_thread(load_signing_key, configured), rotate_in=True)
        return keys
    await keys.refresh()
    if not keys.states():
        first = await asyncio.to_thread(load_or_create_signing_key, None, folder)
        await keys.adopt(first, rotate_in=False)
    return keys

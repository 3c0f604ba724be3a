"""Password hashing with argon2id, off the event loop.

Hashing costs tens of milliseconds of CPU and memory by design, so every call runs in a
worker thread (argon2-cffi releases the GIL) and the loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Passwords:
    """Hashes and checks passwords; ``verify_dummy`` spends the same time as a real check."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher(type=Type.ID)
        if self._hasher.type is not Type.ID:
            raise ValueError("passwords are hashed with argon2id only")
        self._dummy_hash: str | None = None

    @classmethod
    def cheap_for_tests(cls) -> Argon2Passwords:
        """argon2id at its lowest cost, so test suites stay fast."""
        return cls(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    async def prepare(self) -> None:
        """Make the dummy hash at start-up, so even the first unknown email takes the
        time of one verification, not of a hash and a verification."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(24))

    async def verify_dummy(self, password: str) -> None:
        """Check ``password`` against a hash no one has, so an unknown email is not
        answered faster than a wrong password."""
        await self.prepare()
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

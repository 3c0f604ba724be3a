"""Identity's repository ports (services/identity/ports.py) in memory: users, refresh
tokens and signing keys, each attached to a ``MemoryDatabase``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from mercato.chassis.clock import iso
from mercato.chassis.data import Conflict, Connection
from mercato.services.identity.domain import (
    DuplicateEmail,
    KeyAlreadyKnown,
    RefreshToken,
    StoredKey,
    User,
)
from tests.support.memory import MemoryDatabase


class MemoryUserRepository:
    """Users by id, in the order they were added; the email is unique, as the table's."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._users: dict[str, User] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, User]:
        return self._users

    def restore(self, state: dict[str, User]) -> None:
        self._users = state

    @property
    def users(self) -> list[User]:
        """Every user stored, in the order they were added (for tests)."""
        return list(self._users.values())

    async def get(self, user_id: str, tx: Connection | None = None) -> User | None:
        if tx is None:
            await self.db.outside()
        return self._users.get(user_id)

    async def by_email(self, email: str, tx: Connection | None = None) -> User | None:
        if tx is None:
            await self.db.outside()
        return next((u for u in self._users.values() if u.email == email), None)

    async def add(self, tx: Connection, user: User) -> None:
        if user.id in self._users or await self.by_email(user.email, tx) is not None:
            raise DuplicateEmail(user.email)
        self._users[user.id] = user

    async def set_password_hash(self, tx: Connection, user_id: str,
                                password_hash: str) -> None:
        if user_id in self._users:
            self._users[user_id] = self._users[user_id].with_password_hash(password_hash)


class MemoryRefreshTokenRepository:
    """Refresh tokens by id, in the order they were added; id and digest are unique."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._tokens: dict[str, RefreshToken] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, RefreshToken]:
        return self._tokens

    def restore(self, state: dict[str, RefreshToken]) -> None:
        self._tokens = state

    @property
    def tokens(self) -> list[RefreshToken]:
        """Every token stored, in the order they were added (for tests)."""
        return list(self._tokens.values())

    async def by_hash(self, token_hash: str, tx: Connection | None = None
                      ) -> RefreshToken | None:
        if tx is None:
            await self.db.outside()
        return next((t for t in self._tokens.values() if t.token_hash == token_hash), None)

    async def family(self, family_id: str) -> list[RefreshToken]:
        # ORDER BY created_at, id on the stored ISO text, as the SQL adapter sorts
        await self.db.outside()
        return sorted((t for t in self._tokens.values() if t.family_id == family_id),
                      key=lambda t: (iso(t.created_at), t.id))

    async def add(self, tx: Connection, token: RefreshToken) -> None:
        if token.id in self._tokens or await self.by_hash(token.token_hash, tx) is not None:
            raise Conflict(f"refresh token {token.id} or its digest is stored already")
        self._tokens[token.id] = replace(token, revoked_at=None, replaced_by=None)

    async def revoke(self, tx: Connection, token_id: str, at: datetime,
                     replaced_by: str | None) -> None:
        token = self._tokens.get(token_id)
        if token is not None and token.revoked_at is None:
            self._tokens[token_id] = replace(token, revoked_at=at, replaced_by=replaced_by)

    async def revoke_family(self, tx: Connection, family_id: str, at: datetime) -> int:
        live = [t for t in self._tokens.values()
                if t.family_id == family_id and t.revoked_at is None]
        for token in live:
            self._tokens[token.id] = replace(token, revoked_at=at)
        return len(live)


class MemorySigningKeyRepository:
    """The key table as ``rows`` (kid -> key); ``keys`` are there from the start."""

    def __init__(self, db: MemoryDatabase, keys: Iterable[StoredKey] = ()) -> None:
        self.db = db
        self.rows: dict[str, StoredKey] = {k.kid: k for k in keys}
        db.attach(self)

    def snapshot(self) -> dict[str, StoredKey]:
        return self.rows

    def restore(self, state: dict[str, StoredKey]) -> None:
        self.rows = state

    async def all(self, tx: Connection | None = None) -> list[StoredKey]:
        return sorted(self.rows.values(), key=lambda k: (k.activates_at, k.kid))

    async def add(self, tx: Connection, key: StoredKey) -> None:
        if key.kid in self.rows:
            raise KeyAlreadyKnown(f"key {key.kid} is known already")
        self.rows[key.kid] = key

    async def set_retire_after(self, tx: Connection, key: StoredKey) -> None:
        if key.kid in self.rows:
            self.rows[key.kid] = replace(self.rows[key.kid], retire_after=key.retire_after)

    async def erase(self, tx: Connection, kid: str, at: datetime) -> None:
        key = self.rows.get(kid)
        if key is not None and key.retired_at is None:
            self.rows[kid] = replace(key, private_pem=None, retired_at=at)


class MemoryLoyaltyBalanceRepository:
    """Balances by user id, each with its sequence; only a later sequence replaces one."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._rows: dict[str, tuple[int, int]] = {}  # user -> (balance, sequence)
        db.attach(self)

    def snapshot(self) -> dict[str, tuple[int, int]]:
        return dict(self._rows)

    def restore(self, state: dict[str, tuple[int, int]]) -> None:
        self._rows = state

    async def points_of(self, user_id: str) -> int:
        await self.db.outside()
        return self._rows.get(user_id, (0, 0))[0]

    async def record(self, tx: Connection, user_id: str, balance: int, sequence: int,
                     at: str) -> bool:
        if user_id in self._rows and self._rows[user_id][1] >= sequence:
            return False
        self._rows[user_id] = (balance, sequence)
        return True

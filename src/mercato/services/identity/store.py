"""Identity's own database: users and refresh tokens.

Reads that stand alone go through the database directly; changes that must happen
together (registering a user with its UserRegistered event, rotating a refresh token,
revoking its family) go through ``unit()``, one transaction whose repository methods use
that transaction's connection only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from mercato.chassis import Database
from mercato.chassis.clock import iso
from mercato.chassis.data.db import Connection, Row
from mercato.services.identity.domain import DuplicateEmail, RefreshToken, User

USER_COLUMNS = "id, email, name, password_hash, roles, created_at"
TOKEN_COLUMNS = ("id, family_id, user_id, token_hash, created_at, expires_at, revoked_at,"
                 " replaced_by")


def _user(row: Row | None) -> User | None:
    if row is None:
        return None
    return User(**{**row, "roles": tuple(json.loads(row["roles"]))})


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _token(row: Row | None) -> RefreshToken | None:
    if row is None:
        return None
    return RefreshToken(
        id=row["id"], family_id=row["family_id"], user_id=row["user_id"],
        token_hash=row["token_hash"], created_at=_moment(row["created_at"]),
        expires_at=_moment(row["expires_at"]), revoked_at=_moment(row["revoked_at"]),
        replaced_by=row["replaced_by"],
    )


class IdentityUnit:
    """The repository methods available inside one transaction."""

    def __init__(self, tx: Connection) -> None:
        self.tx = tx  # for what else joins the transaction, such as the outbox

    async def add_user(self, user: User) -> None:
        try:
            await self.tx.execute(
                f"INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                user.id, user.email, user.name, user.password_hash,
                json.dumps(list(user.roles)), user.created_at,
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateEmail(f"a user with email {user.email} already exists") from exc

    async def user(self, user_id: str) -> User | None:
        return _user(await self.tx.fetch_one(
            f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", user_id))

    async def refresh_token(self, token_hash: str) -> RefreshToken | None:
        return _token(await self.tx.fetch_one(
            f"SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE token_hash = ?", token_hash))

    async def add_refresh_token(self, token: RefreshToken) -> None:
        await self.tx.execute(
            f"INSERT INTO refresh_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            token.id, token.family_id, token.user_id, token.token_hash, iso(token.created_at),
            iso(token.expires_at), None, None,
        )

    async def revoke(self, token_id: str, at: datetime, replaced_by: str | None) -> None:
        await self.tx.execute(
            "UPDATE refresh_tokens SET revoked_at = ?, replaced_by = ?"
            " WHERE id = ? AND revoked_at IS NULL",
            iso(at), replaced_by, token_id,
        )

    async def revoke_family(self, family_id: str, at: datetime) -> int:
        return await self.tx.execute(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            iso(at), family_id,
        )


class SqlIdentityStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[IdentityUnit]:
        async with self.db.transaction() as tx:
            yield IdentityUnit(tx)

    async def user_by_id(self, user_id: str) -> User | None:
        return _user(await self.db.fetch_one(
            f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", user_id))

    async def user_by_email(self, email: str) -> User | None:
        return _user(await self.db.fetch_one(
            f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", email))

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                             password_hash, user_id)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        async with self.unit() as unit:
            await unit.add_refresh_token(token)

    async def family(self, family_id: str) -> list[RefreshToken]:
        rows = await self.db.fetch_all(
            f"SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE family_id = ?"
            " ORDER BY created_at, id", family_id)
        return [_token(r) for r in rows]

"""Identity's own database: users and refresh tokens (``UserRepository`` and
``RefreshTokenRepository`` in ports.py).

Reads that stand alone go through the database directly; writes take the caller's
transaction (``tx``), so changes that must happen together (registering a user with its
UserRegistered event, rotating a refresh token, revoking its family) commit together.
"""

from __future__ import annotations

import json
from datetime import datetime

from mercato.chassis import Database
from mercato.chassis.clock import iso
from mercato.chassis.data import Conflict, Connection, Row
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


class SqlUserRepository:
    """Users: their email (unique), name, password hash and roles."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str, tx: Connection | None = None) -> User | None:
        return _user(await (tx or self.db).fetch_one(
            f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", user_id))

    async def by_email(self, email: str, tx: Connection | None = None) -> User | None:
        return _user(await (tx or self.db).fetch_one(
            f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", email))

    async def add(self, tx: Connection, user: User) -> None:
        """Store a new user; ``DuplicateEmail`` if the email is taken (the unique key
        decides, on every backend, so no lock is needed; the transaction is then spoilt
        on PostgreSQL, which is fine: the caller gives up on it)."""
        try:
            await tx.execute(
                f"INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                user.id, user.email, user.name, user.password_hash,
                json.dumps(list(user.roles)), user.created_at,
            )
        except Conflict as exc:
            raise DuplicateEmail(user.email) from exc

    async def set_password_hash(self, tx: Connection, user_id: str,
                                password_hash: str) -> None:
        await tx.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                         password_hash, user_id)


class SqlRefreshTokenRepository:
    """Refresh tokens, kept as digests, in families (one per sign-in, rotated along)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_hash(self, token_hash: str, tx: Connection | None = None
                      ) -> RefreshToken | None:
        return _token(await (tx or self.db).fetch_one(
            f"SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE token_hash = ?", token_hash))

    async def family(self, family_id: str) -> list[RefreshToken]:
        rows = await self.db.fetch_all(
            f"SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE family_id = ?"
            " ORDER BY created_at, id", family_id)
        return [_token(r) for r in rows]

    async def add(self, tx: Connection, token: RefreshToken) -> None:
        await tx.execute(
            f"INSERT INTO refresh_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            token.id, token.family_id, token.user_id, token.token_hash, iso(token.created_at),
            iso(token.expires_at), None, None,
        )

    async def revoke(self, tx: Connection, token_id: str, at: datetime,
                     replaced_by: str | None) -> None:
        await tx.execute(
            "UPDATE refresh_tokens SET revoked_at = ?, replaced_by = ?"
            " WHERE id = ? AND revoked_at IS NULL",
            iso(at), replaced_by, token_id,
        )

    async def revoke_family(self, tx: Connection, family_id: str, at: datetime) -> int:
        return await tx.execute(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            iso(at), family_id,
        )

"""Identity domain: users, their roles, and the life of a refresh token."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

ROLE_CUSTOMER = "customer"
ROLE_ADMIN = "admin"
PASSWORD_MIN = 8
PASSWORD_MAX = 128

# Deliberately simple: one "@", no spaces, a dotted domain of letters, digits and hyphens.
# Deliverability is proven by mail, not by a regular expression.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class IdentityError(Exception):
    """A rule of identity was broken; the message says which."""


class InvalidEmail(IdentityError, ValueError):
    pass


class DuplicateEmail(IdentityError):
    pass


def normalize_email(raw: str) -> str:
    """The canonical form of an address (trimmed, lower case), or InvalidEmail."""
    email = raw.strip().lower()
    if len(email) > 254 or email.count("@") != 1:
        raise InvalidEmail("is not a valid email address")
    local, domain = email.split("@")
    labels = domain.split(".")
    if (not _LOCAL.match(local) or local.startswith(".") or local.endswith(".")
            or ".." in local or len(labels) < 2
            or not all(_LABEL.match(label) for label in labels)
            or labels[-1].isdigit()):
        raise InvalidEmail("is not a valid email address")
    return email


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str
    roles: tuple[str, ...]
    created_at: str

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise IdentityError("name must not be blank")
        if ROLE_CUSTOMER not in self.roles:
            raise IdentityError("every user has the customer role")

    @property
    def is_admin(self) -> bool:
        return ROLE_ADMIN in self.roles

    def with_password_hash(self, password_hash: str) -> User:
        return replace(self, password_hash=password_hash)

    def public(self) -> dict:
        """What the API may show: never any password material."""
        return {"id": self.id, "email": self.email, "name": self.name, "roles": list(self.roles)}


def hash_refresh_secret(secret: str) -> str:
    """Refresh tokens are stored only as this digest; the secret itself is never kept."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenState(Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class RefreshToken:
    """One refresh token of a family: every rotation adds a member and revokes the last."""

    id: str
    family_id: str
    user_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    replaced_by: str | None = None

    @classmethod
    def issue(cls, *, id: str, family_id: str, user_id: str, secret: str,
              now: datetime, ttl_seconds: int) -> RefreshToken:
        return cls(id=id, family_id=family_id, user_id=user_id,
                   token_hash=hash_refresh_secret(secret), created_at=now,
                   expires_at=now + timedelta(seconds=ttl_seconds))

    def state(self, now: datetime) -> TokenState:
        # Revocation wins over expiry: presenting a revoked token is reuse, whatever its age.
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if now >= self.expires_at:
            return TokenState.EXPIRED
        return TokenState.ACTIVE

    def successor(self, *, id: str, secret: str, now: datetime,
                  ttl_seconds: int) -> RefreshToken:
        """The next token of this family; the caller revokes this one."""
        if self.state(now) is not TokenState.ACTIVE:
            raise IdentityError("only an active refresh token can be rotated")
        return RefreshToken.issue(id=id, family_id=self.family_id, user_id=self.user_id,
                                  secret=secret, now=now, ttl_seconds=ttl_seconds)


def access_claims(user: User, *, now: datetime, ttl_seconds: int, issuer: str,
                  audience: str, jti: str) -> dict:
    """The claims of a user's access token, which every service's TokenVerifier checks."""
    issued = int(now.timestamp())
    return {
        "sub": user.id, "email": user.email, "roles": list(user.roles), "typ": "access",
        "iss": issuer, "aud": audience, "iat": issued, "exp": issued + ttl_seconds,
        "jti": jti,
    }

"""Identity domain: users, their roles, and the life of a refresh token."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from mercato.chassis.errors import DomainError

ROLE_CUSTOMER = "customer"
ROLE_ADMIN = "admin"
PASSWORD_MIN = 8
PASSWORD_MAX = 128

# Deliberately simple: one "@", no spaces, a dotted domain of letters, digits and hyphens.
# Deliverability is proven by mail, not by a regular expression.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class IdentityError(DomainError):
    """A rule of identity was broken; the message says which."""


class InvalidUser(IdentityError):
    """A user who cannot be registered as given (a blank name, no customer role, ...)."""


class InvalidEmail(InvalidUser, ValueError):
    pass


class DuplicateEmail(IdentityError):
    """Another user has this email; the message does not repeat it."""

    def __init__(self, email: str) -> None:
        super().__init__("a user with this email already exists")
        self.email = email


class NotAuthenticated(IdentityError):
    """Wrong credentials, or a refresh token not (or no longer) valid."""


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
            raise InvalidUser("name must not be blank")
        if ROLE_CUSTOMER not in self.roles:
            raise InvalidUser("every user has the customer role")

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


# -- the keys that sign access tokens ------------------------------------------------------


class KeyState(Enum):
    """Where a signing key is in its life; derived from its times, so every replica
    agrees at any instant without anyone writing a state change."""

    PENDING = "pending"          # published in the JWKS, not signing yet
    ACTIVE = "active"            # signs new tokens (one key at a time)
    VERIFY_ONLY = "verify-only"  # published, signs nothing: its tokens are still alive
    RETIRED = "retired"          # gone from the JWKS; its private half erased


class RotationInProgress(IdentityError):
    """A rotation's new key is not active yet; a second rotation waits for it."""


class KeyAlreadyKnown(IdentityError):
    pass


@dataclass(frozen=True)
class StoredKey:
    """One signing key as identity keeps it. ``retire_after`` is set when a newer key
    takes over: every token this key signed has expired by then. ``retired_at`` records
    that its private half was erased."""

    kid: str
    public_jwk: dict
    private_pem: bytes | None
    created_at: datetime
    activates_at: datetime
    retire_after: datetime | None = None
    retired_at: datetime | None = None


@dataclass(frozen=True)
class KeyTimes:
    """How long a new key is published before it signs (``lead``: every replica and
    verifier can know it before the first token it signs), and how long an old key
    verifies after it stopped signing (``keep``: the longest access-token life plus the
    verifiers' clock skew and a lagging replica)."""

    lead: timedelta
    keep: timedelta


@dataclass(frozen=True)
class KeySet:
    """All signing keys, and the rules of their rotation."""

    keys: tuple[StoredKey, ...]

    def state(self, key: StoredKey, now: datetime) -> KeyState:
        if key.retired_at is not None or (key.retire_after is not None
                                          and now >= key.retire_after):
            return KeyState.RETIRED
        if now < key.activates_at:
            return KeyState.PENDING
        signer = self.signer(now)
        return KeyState.ACTIVE if signer and signer.kid == key.kid else KeyState.VERIFY_ONLY

    def signer(self, now: datetime) -> StoredKey | None:
        """The key that signs at ``now``: the latest to have become active, not retired."""
        live = [k for k in self.keys if k.activates_at <= now and k.retired_at is None
                and (k.retire_after is None or now < k.retire_after)]
        return max(live, key=lambda k: (k.activates_at, k.kid), default=None)

    def published(self, now: datetime) -> list[StoredKey]:
        """The keys a verifier needs: pending, active and verify-only ones."""
        return [k for k in self.keys if self.state(k, now) is not KeyState.RETIRED]

    def due_for_erasure(self, now: datetime) -> list[StoredKey]:
        """Retired keys whose private half is still kept."""
        return [k for k in self.keys if k.retired_at is None
                and self.state(k, now) is KeyState.RETIRED]

    def rotate(self, new: StoredKey, now: datetime,
               times: KeyTimes) -> tuple[StoredKey, StoredKey | None]:
        """``new`` as the next key (active after ``times.lead``, or at once when nothing
        signs) and the current signer with the time it retires; both to be stored."""
        if any(k.kid == new.kid for k in self.keys):
            raise KeyAlreadyKnown(f"key {new.kid} is known already")
        pending = [k for k in self.keys if self.state(k, now) is KeyState.PENDING]
        if pending:
            raise RotationInProgress(
                f"key {pending[0].kid} becomes active at {pending[0].activates_at.isoformat()}"
                "; rotate again after that")
        current = self.signer(now)
        starts = now + times.lead if current else now
        new = replace(new, created_at=now, activates_at=starts)
        if current is None:
            return new, None
        return new, replace(current, retire_after=starts + times.keep)

    def first(self, new: StoredKey, now: datetime) -> StoredKey | None:
        """``new`` as the first key, active at once; None when there are keys already."""
        if self.keys:
            return None
        return replace(new, created_at=now, activates_at=now)

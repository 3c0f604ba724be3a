"""Identity commands and queries: register, sign in, refresh, and the first admin."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mercato.chassis import Problem
from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.contracts.identity import UserRegistered
from mercato.services.identity.domain import (
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    DuplicateEmail,
    IdentityError,
    RefreshToken,
    TokenState,
    User,
    access_claims,
    hash_refresh_secret,
    normalize_email,
)
from mercato.services.identity.keys import SigningKey
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.signing import KeyRing
from mercato.services.identity.store import SqlIdentityStore

log = get_logger(__name__)
BAD_CREDENTIALS = "the email or password is not correct"
BAD_REFRESH = "the refresh token is not valid"
EVENT_NAMESPACE = uuid.UUID("aecbcf9a-6de1-409a-814c-1924cb78b0f3")


def registered_event_id(user_id: str) -> str:
    """A user registers once, so UserRegistered has an id derived from the user's."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{user_id}/registered"))


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audience: str
    access_ttl: int
    refresh_ttl: int


@dataclass
class Identity:
    """Identity's handlers, with their dependencies."""

    store: SqlIdentityStore
    passwords: Argon2Passwords
    keys: KeyRing
    tokens: TokenSettings
    outbox: Outbox
    clock: Clock
    new_id: IdFactory
    new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(32)

    @property
    def key(self) -> SigningKey:
        """The key that signs access tokens now."""
        return self.keys.signer()

    def jwks(self) -> dict:
        return self.keys.jwks()

    async def register_user(self, email: str, password: str, name: str,
                            roles: tuple[str, ...] = (ROLE_CUSTOMER,)) -> User:
        try:
            user = User(id=self.new_id(), email=normalize_email(email), name=name.strip(),
                        password_hash="", roles=roles, created_at=iso(self.clock()))
            user = user.with_password_hash(await self.passwords.hash(password))
            async with self.store.unit() as unit:
                await unit.add_user(user)
                # Every user, the first admin included: notifications greets them all.
                await self.outbox.add(
                    unit.tx, UserRegistered(user_id=user.id, email=user.email, name=user.name),
                    event_id=registered_event_id(user.id))
        except DuplicateEmail as exc:
            raise Problem(409, "a user with this email already exists",
                          kind="duplicate-email") from exc
        except IdentityError as exc:
            raise Problem(422, str(exc)) from exc
        return user

    async def get_user(self, user_id: str) -> User:
        user = await self.store.user_by_id(user_id)
        if user is None:
            raise Problem(404, "the user was not found")
        return user

    async def sign_in(self, email: str, password: str) -> dict:
        """Tokens for the right email and password; one 401, in similar time, otherwise."""
        user = await self.store.user_by_email(email.strip().lower())
        if user is None:
            await self.passwords.verify_dummy(password)
            raise _unauthorized(BAD_CREDENTIALS)
        if not await self.passwords.verify(user.password_hash, password):
            raise _unauthorized(BAD_CREDENTIALS)
        if self.passwords.needs_rehash(user.password_hash):
            await self.store.set_password_hash(user.id, await self.passwords.hash(password))
        secret = self.new_secret()
        token = RefreshToken.issue(id=self.new_id(), family_id=self.new_id(), user_id=user.id,
                                   secret=secret, now=self.clock(),
                                   ttl_seconds=self.tokens.refresh_ttl)
        await self.store.add_refresh_token(token)
        return self._token_response(user, secret)

    async def refresh(self, presented: str) -> dict:
        """Rotate a refresh token. Presenting one already rotated is taken as theft: the
        whole family is revoked, so neither the thief nor the owner can go on with it."""
        now = self.clock()
        secret = self.new_secret()
        outcome: TokenState | None = None
        user: User | None = None
        async with self.store.unit() as unit:
            current = await unit.refresh_token(hash_refresh_secret(presented))
            if current is not None:
                outcome = current.state(now)
                if outcome is TokenState.REVOKED:
                    revoked = await unit.revoke_family(current.family_id, now)
                    log.warning("refresh_token_reused", family=current.family_id,
                                user=current.user_id, revoked=revoked)
                elif outcome is TokenState.ACTIVE:
                    user = await unit.user(current.user_id)
                    nxt = current.successor(id=self.new_id(), secret=secret, now=now,
                                            ttl_seconds=self.tokens.refresh_ttl)
                    await unit.revoke(current.id, now, replaced_by=nxt.id)
                    await unit.add_refresh_token(nxt)
        # Raised after the commit, so a family revoked above stays revoked.
        if outcome is not TokenState.ACTIVE or user is None:
            raise _unauthorized(BAD_REFRESH)
        return self._token_response(user, secret)

    async def ensure_admin(self, email: str, password: str) -> bool:
        """Create the first admin unless a user with ``email`` exists. True if created.

        Safe when two instances start at once: the unique email decides who creates it.
        """
        existing = await self.store.user_by_email(normalize_email(email))
        if existing is not None:
            if not existing.is_admin:
                log.warning("admin_email_taken_by_non_admin", user=existing.id)
            return False
        try:
            await self.register_user(email, password, "Administrator",
                                     roles=(ROLE_CUSTOMER, ROLE_ADMIN))
        except Problem as exc:
            if exc.status == 409:
                return False
            raise
        log.info("first_admin_created", email=normalize_email(email))
        return True

    def _token_response(self, user: User, refresh_secret: str) -> dict:
        claims = access_claims(user, now=self.clock(), ttl_seconds=self.tokens.access_ttl,
                               issuer=self.tokens.issuer, audience=self.tokens.audience,
                               jti=self.new_id())
        return {"access_token": self.keys.signer().sign(claims),
                "refresh_token": refresh_secret, "token_type": "bearer",
                "expires_in": self.tokens.access_ttl}


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})

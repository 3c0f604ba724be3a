"""Identity commands and queries: register, sign in, refresh, and the first admin."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.chassis.data import Connection, Database
from mercato.chassis.errors import NotFound
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.chassis.settings import Settings
from mercato.contracts.envelope import Envelope
from mercato.contracts.identity import UserRegistered
from mercato.contracts.loyalty import LoyaltyPointsChanged
from mercato.services.identity.domain import (
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    DuplicateEmail,
    NotAuthenticated,
    RefreshToken,
    TokenState,
    User,
    access_claims,
    hash_refresh_secret,
    normalize_email,
)
from mercato.services.identity.keys import SigningKey
from mercato.services.identity.passwords import Argon2Passwords
from mercato.services.identity.ports import (
    LoyaltyBalanceRepository,
    RefreshTokenRepository,
    UserRepository,
)
from mercato.services.identity.signing import KeyRing

log = get_logger(__name__)
BAD_CREDENTIALS = "the email or password is not correct"
BAD_REFRESH = "the refresh token is not valid"
EVENT_NAMESPACE = uuid.UUID("aecbcf9a-6de1-409a-814c-1924cb78b0f3")


def registered_event_id(user_id: str) -> str:
    """A user registers once, so UserRegistered has an id derived from the user's."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{user_id}/registered"))


@dataclass(frozen=True)
class TokenSettings:
    """Who issues the tokens, for whom, and how long each kind lives (seconds)."""

    issuer: str
    audience: str
    access_ttl: int
    refresh_ttl: int

    @classmethod
    def of(cls, settings: Settings) -> TokenSettings:
        return cls(settings.token_issuer, settings.token_audience, settings.access_token_ttl,
                   settings.refresh_token_ttl)


@dataclass
class Identity:
    """Identity's handlers, with their dependencies."""

    db: Database
    users: UserRepository
    refresh_tokens: RefreshTokenRepository
    passwords: Argon2Passwords
    keys: KeyRing
    tokens: TokenSettings
    outbox: Outbox
    clock: Clock
    new_id: IdFactory
    balances: LoyaltyBalanceRepository
    new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(32)

    @property
    def key(self) -> SigningKey:
        """The key that signs access tokens now."""
        return self.keys.signer()

    def jwks(self) -> dict:
        return self.keys.jwks()

    async def register_user(self, email: str, password: str, name: str,
                            roles: tuple[str, ...] = (ROLE_CUSTOMER,)) -> User:
        """A new user; InvalidUser (InvalidEmail) or DuplicateEmail if it cannot be."""
        user = User(id=self.new_id(), email=normalize_email(email), name=name.strip(),
                    password_hash="", roles=roles, created_at=iso(self.clock()))
        user = user.with_password_hash(await self.passwords.hash(password))
        async with self.db.transaction() as tx:
            # No lock: the unique email decides between two registrations at once.
            await self.users.add(tx, user)
            # Every user, the first admin included: notifications greets them all.
            await self.outbox.add(
                tx, UserRegistered(user_id=user.id, email=user.email, name=user.name),
                event_id=registered_event_id(user.id))
        return user

    async def get_user(self, user_id: str) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("the user was not found")
        return user

    async def profile(self, user_id: str) -> dict:
        """What ``users/me`` shows: the user and their loyalty points, as loyalty last
        announced them (0 before any entry; eventually consistent)."""
        user = await self.get_user(user_id)
        return {**user.public(), "loyalty_points": await self.balances.points_of(user_id)}

    async def on_loyalty_points_changed(self, tx: Connection, envelope: Envelope,
                                        event: LoyaltyPointsChanged) -> None:
        await self.balances.record(tx, event.customer_id, event.balance, event.sequence,
                                   iso(self.clock()))

    async def sign_in(self, email: str, password: str) -> dict:
        """Tokens for the right email and password; one NotAuthenticated, in similar
        time, otherwise."""
        user = await self.users.by_email(email.strip().lower())
        if user is None:
            await self.passwords.verify_dummy(password)
            raise NotAuthenticated(BAD_CREDENTIALS)
        if not await self.passwords.verify(user.password_hash, password):
            raise NotAuthenticated(BAD_CREDENTIALS)
        if self.passwords.needs_rehash(user.password_hash):
            password_hash = await self.passwords.hash(password)
            async with self.db.transaction() as tx:
                await self.users.set_password_hash(tx, user.id, password_hash)
        secret = self.new_secret()
        token = RefreshToken.issue(id=self.new_id(), family_id=self.new_id(), user_id=user.id,
                                   secret=secret, now=self.clock(),
                                   ttl_seconds=self.tokens.refresh_ttl)
        async with self.db.transaction() as tx:
            await self.refresh_tokens.add(tx, token)
        return self._token_response(user, secret)

    async def refresh(self, presented: str) -> dict:
        """Rotate a refresh token. Presenting one already rotated is taken as theft: the
        whole family is revoked, so neither the thief nor the owner can go on with it."""
        now = self.clock()
        secret = self.new_secret()
        outcome: TokenState | None = None
        user: User | None = None
        token_hash = hash_refresh_secret(presented)
        async with self.db.transaction() as tx:
            current = await self.refresh_tokens.by_hash(token_hash, tx)
            if current is not None:
                # Its state decides the writes, and a rotation and a reuse of the same
                # family must not interleave: the family's lock, then the token read again
                # under it (its family never changes; its state may have meanwhile).
                await tx.lock(f"refresh-family:{current.family_id}")
                current = await self.refresh_tokens.by_hash(token_hash, tx)
            if current is not None:
                outcome = current.state(now)
                if outcome is TokenState.REVOKED:
                    revoked = await self.refresh_tokens.revoke_family(tx, current.family_id, now)
                    log.warning("refresh_token_reused", family=current.family_id,
                                user=current.user_id, revoked=revoked)
                elif outcome is TokenState.ACTIVE:
                    user = await self.users.get(current.user_id, tx)
                    nxt = current.successor(id=self.new_id(), secret=secret, now=now,
                                            ttl_seconds=self.tokens.refresh_ttl)
                    await self.refresh_tokens.revoke(tx, current.id, now, replaced_by=nxt.id)
                    await self.refresh_tokens.add(tx, nxt)
        # Raised after the commit, so a family revoked above stays revoked.
        if outcome is not TokenState.ACTIVE or user is None:
            raise NotAuthenticated(BAD_REFRESH)
        return self._token_response(user, secret)

    async def start(self, admin_email: str, admin_password: str) -> None:
        """At start-up: the passwords' dummy hash made (so even the first unknown email
        takes the time of one check) and the first admin created unless there is one."""
        await self.passwords.prepare()
        await self.ensure_admin(admin_email, admin_password)

    async def ensure_admin(self, email: str, password: str) -> bool:
        """Create the first admin unless a user with ``email`` exists. True if created.

        Safe when two instances start at once: the unique email decides who creates it.
        """
        existing = await self.users.by_email(normalize_email(email))
        if existing is not None:
            if not existing.is_admin:
                log.warning("admin_email_taken_by_non_admin", user=existing.id)
            return False
        try:
            await self.register_user(email, password, "Administrator",
                                     roles=(ROLE_CUSTOMER, ROLE_ADMIN))
        except DuplicateEmail:
            return False
        log.info("first_admin_created", email=normalize_email(email))
        return True

    def _token_response(self, user: User, refresh_secret: str) -> dict:
        claims = access_claims(user, now=self.clock(), ttl_seconds=self.tokens.access_ttl,
                               issuer=self.tokens.issuer, audience=self.tokens.audience,
                               jti=self.new_id())
        return {"access_token": self.keys.signer().sign(claims),
                "refresh_token": refresh_secret, "token_type": "bearer",
                "expires_in": self.tokens.access_ttl}

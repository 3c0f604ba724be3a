"""User access tokens (EdDSA, verified against identity's JWKS), the principal a request
acts for, and the memory of verified tokens. Service-to-service tokens, signed by each
workload's own key, are ``chassis/identity``'s.

Verification always pins one algorithm and requires ``exp``, ``iss`` and ``aud``: a token
signed with another algorithm, by another key, for another audience or expired is refused.
A token that passed is remembered with its principal until its own ``exp`` (``Verified``):
a client sends the same token on every request, and checking a signature costs far more
than a lookup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt
from cachetools import TLRUCache
from jwt import PyJWK

USER_ALGORITHM = "EdDSA"
CLOCK_SKEW = 30  # seconds of disagreement between hosts' clocks tolerated on iat/exp
MAX_VERIFIED = 10_000  # tokens remembered per verifier


class AuthError(Exception):
    """The caller could not be authenticated (missing, malformed or invalid token)."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched: the token cannot be judged now (a 503, not
    a 401 — the client did nothing wrong)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (``kind='user'``) or another service (``kind='service'``)."""

    subject: str
    roles: frozenset[str]
    kind: str = "user"
    email: str = ""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


class Verified:
    """Verified tokens and their principals until each token's ``exp``, at most ``size``,
    least recently used dropped first (cachetools' ``TLRUCache``: a time-to-use per item).
    Only successes are kept: a refused token is checked again every time."""

    def __init__(self, size: int = MAX_VERIFIED, now: Callable[[], float] = time.time) -> None:
        self._items: TLRUCache[str, tuple[Principal, float]] = TLRUCache(
            maxsize=size, ttu=lambda _token, hit, _now: hit[1], timer=now)

    def get(self, token: str) -> Principal | None:
        hit = self._items.get(token)
        return None if hit is None else hit[0]

    def put(self, token: str, principal: Principal, exp: float) -> None:
        self._items[token] = (principal, exp)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        self._items.expire()
        return len(self._items)


JwksFetcher = Callable[[], Awaitable[dict]]
JWKS_MAX_AGE = 300.0  # seconds a fetched key set is used before it is fetched again
REFETCH_AFTER = 1.0  # seconds: at most one fetch this often for kids still unknown
STALE_RETRY = 10.0  # seconds before an old key set that could not be fetched is tried again


class TokenVerifier:
    """Verifies user access tokens against identity's JWKS: fetched when an unknown key
    id shows up and when the copy is older than ``JWKS_MAX_AGE``. A key whose JWK says
    when it retires (``retire_at``, seconds since the epoch: identity's rotation,
    docs/zero-trust.md section 5) vouches for no token from then on, fetched or not."""

    def __init__(self, fetch_jwks: JwksFetcher, issuer: str, audience: str,
                 now: Callable[[], float] = time.time, leeway: int = CLOCK_SKEW) -> None:
        self._fetch = fetch_jwks
        self._leeway = leeway  # seconds of clock disagreement with identity tolerated
        self._issuer = issuer
        self._audience = audience
        self._now = now
        self._keys: dict[str, PyJWK] = {}
        self._jwks: dict[str, dict] = {}
        self._retire_at: dict[str, float] = {}
        self._fetched_at = -1e9  # when the last fetch completed (monotonic)
        self._refresh_due = -1e9  # when the key set is old enough to fetch again
        self._fetching = asyncio.Lock()
        self.verified = Verified(now=now)

    def load_jwks(self, jwks: dict) -> None:
        keys, entries, retire_at = {}, {}, {}
        for entry in jwks.get("keys", []):
            if entry.get("kid") and entry.get("kty") == "OKP":
                kid = entry["kid"]
                keys[kid] = PyJWK(entry, algorithm=USER_ALGORITHM)
                entries[kid] = {k: v for k, v in entry.items() if k != "retire_at"}
                if isinstance(entry.get("retire_at"), int | float):
                    retire_at[kid] = float(entry["retire_at"])
        # A key that left the set, or changed, no longer vouches for the tokens it
        # verified; a set that only grew (a rotation's new key) keeps them.
        if any(entries.get(kid) != entry for kid, entry in self._jwks.items()):
            self.verified.clear()
        self._keys, self._jwks, self._retire_at = keys, entries, retire_at
        self._refresh_due = time.monotonic() + JWKS_MAX_AGE

    async def _refetch(self, kid: str) -> None:
        """Fetch the JWKS if ``kid`` is unknown (at most once per ``REFETCH_AFTER``) or
        the copy is older than ``JWKS_MAX_AGE``. Requests arriving while a fetch is in
        flight wait for it (one fetch, not one per request). A fetch that fails is
        KeysUnavailable for an unknown key; an old copy is kept (its keys still verify)
        and fetched again after ``STALE_RETRY``."""
        async with self._fetching:
            now = time.monotonic()
            unknown = kid not in self._keys
            if not ((unknown and now - self._fetched_at > REFETCH_AFTER)
                    or now >= self._refresh_due):
                return
            try:
                jwks = await self._fetch()
            except Exception as exc:
                if unknown:
                    raise KeysUnavailable(f"signing keys unavailable: {exc}") from exc
                self._refresh_due = time.monotonic() + STALE_RETRY
                return
            self.load_jwks(jwks)
            self._fetched_at = time.monotonic()

    async def _key_for(self, kid: str) -> PyJWK:
        """The key for ``kid``, fetching the JWKS when it is unknown; a key still unknown
        after a fetch completed within ``REFETCH_AFTER`` is refused, and so is a key past
        its ``retire_at``."""
        if kid not in self._keys:
            await self._refetch(kid)
        try:
            key = self._keys[kid]
        except KeyError:
            raise AuthError("token signed by an unknown key") from None
        if self._now() >= self._retire_at.get(kid, float("inf")):
            raise AuthError("token signed by a retired key")
        return key

    async def principal(self, authorization: str | None) -> Principal:
        """The caller named by an ``Authorization: Bearer ...`` header (the gateway's
        check at the edge); AuthError when it is missing or its token is refused."""
        return await self.verify(bearer_token(authorization))

    async def verify(self, token: str) -> Principal:
        if time.monotonic() >= self._refresh_due:
            # Before the memory: a key that left the set takes its tokens with it.
            await self._refetch(key_id(token, USER_ALGORITHM, "token"))
        known = self.verified.get(token)
        if known is not None:
            return known
        kid = key_id(token, USER_ALGORITHM, "token")
        key = await self._key_for(kid)
        try:
            claims = jwt.decode(
                token, key, algorithms=[USER_ALGORITHM], audience=self._audience,
                issuer=self._issuer, options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=self._leeway,
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        if claims.get("typ") != "access":
            raise AuthError("not an access token")
        principal = Principal(subject=claims["sub"], roles=frozenset(claims.get("roles", [])),
                              email=claims.get("email", ""))
        # Remembered until the token expires, or its key retires if that comes first.
        until = min(float(claims["exp"]), self._retire_at.get(kid, float("inf")))
        self.verified.put(token, principal, until)
        return principal


def key_id(token: str, algorithm: str, what: str) -> str:
    """The ``kid`` of a token whose header names ``algorithm`` (the one accepted: a token
    that names another, ``none`` included, is refused before any key is looked up)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(f"malformed {what}: {exc}") from exc
    if header.get("alg") != algorithm:
        raise AuthError(f"{what} algorithm {header.get('alg')!r} is not accepted")
    return str(header.get("kid", ""))


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer ...`` header, or AuthError."""
    if not authorization:
        raise AuthError("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization must be 'Bearer <token>'")
    return token.strip()

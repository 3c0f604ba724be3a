"""Access-token checks at the edge, with a small cache of verified tokens.

Verifying an EdDSA signature costs far more than a dictionary lookup, and a client sends
the same token on every request until it expires; the cache keeps each verified token's
principal until its own ``exp``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from mercato.chassis.security import AuthError, Principal, TokenVerifier, bearer_token

MAX_CACHED = 20_000


class EdgeAuth:
    def __init__(self, verifier: TokenVerifier, now: Callable[[], float] = time.time) -> None:
        self._verifier = verifier
        self._now = now
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def principal(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        hit = self._cache.get(token)
        now = self._now()
        if hit is not None:
            if hit[1] > now:
                return hit[0]
            del self._cache[token]
        principal = await self._verifier.verify(token)
        try:
            exp = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise AuthError("token has no usable exp") from exc
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[token] = (principal, exp)
        return principal

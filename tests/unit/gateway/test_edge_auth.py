"""The edge's token cache: a token is verified once, and never trusted past its exp."""

from __future__ import annotations

import time

import jwt
import pytest

from mercato.chassis.security import AuthError, Principal
from mercato.gateway.auth import EdgeAuth


class CountingVerifier:
    def __init__(self) -> None:
        self.calls = 0

    async def verify(self, token: str) -> Principal:
        self.calls += 1
        claims = jwt.decode(token, options={"verify_signature": False})
        if claims["exp"] < time.time():
            raise AuthError("expired")
        return Principal(claims["sub"], frozenset({"customer"}))


def token(exp: float) -> str:
    return jwt.encode({"sub": "u1", "exp": int(exp)}, "k" * 32, algorithm="HS256")


async def test_a_token_is_verified_once_and_then_served_from_the_cache():
    verifier = CountingVerifier()
    auth = EdgeAuth(verifier)
    t = token(time.time() + 60)
    for _ in range(5):
        assert (await auth.principal(f"Bearer {t}")).subject == "u1"
    assert verifier.calls == 1


async def test_a_cached_token_is_verified_again_once_its_exp_has_passed():
    verifier = CountingVerifier()
    clock = [time.time()]
    auth = EdgeAuth(verifier, now=lambda: clock[0])
    t = token(clock[0] + 60)
    await auth.principal(f"Bearer {t}")
    clock[0] += 30
    await auth.principal(f"Bearer {t}")
    assert verifier.calls == 1
    clock[0] += 31  # past exp by the gateway's clock: the cache must not answer
    await auth.principal(f"Bearer {t}")
    assert verifier.calls == 2


async def test_a_refused_token_is_not_cached():
    verifier = CountingVerifier()
    auth = EdgeAuth(verifier)
    expired = token(time.time() - 10)
    for _ in range(2):
        with pytest.raises(AuthError):
            await auth.principal(f"Bearer {expired}")
    assert verifier.calls == 2

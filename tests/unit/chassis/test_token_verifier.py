"""The verifier fetches the JWKS once for a burst of requests, and a fetch that fails is
'keys unavailable' (a 503 upstream), never 'invalid token' (a 401)."""

from __future__ import annotations

import asyncio

import pytest

from mercato.chassis.security import KeysUnavailable, TokenVerifier
from tests.support.service_http import FakeIdentity

ISS, AUD = "mercato-identity", "mercato"


async def test_concurrent_requests_at_start_up_share_one_jwks_fetch_and_all_pass():
    identity = FakeIdentity(ISS, AUD)
    fetches = 0

    async def slow_fetch() -> dict:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.05)
        return identity.jwks

    verifier = TokenVerifier(slow_fetch, ISS, AUD)
    token = identity.token("u1")
    principals = await asyncio.gather(*(verifier.verify(token) for _ in range(5)))
    assert [p.subject for p in principals] == ["u1"] * 5
    assert fetches == 1


async def test_an_unreachable_identity_makes_keys_unavailable_not_a_bad_token():
    identity = FakeIdentity(ISS, AUD)

    async def failing_fetch() -> dict:
        raise ConnectionError("identity is down")

    verifier = TokenVerifier(failing_fetch, ISS, AUD)
    with pytest.raises(KeysUnavailable):
        await verifier.verify(identity.token("u1"))
    with pytest.raises(KeysUnavailable):  # and the next request tries again at once
        await verifier.verify(identity.token("u1"))

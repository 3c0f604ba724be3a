"""Verified tokens are remembered until their own exp: the signature is checked once per
token, a refused token is checked every time, an expired entry is checked again, the
memory is bounded (least recently used dropped first), and a new key set forgets them."""

from __future__ import annotations

import time

import jwt
import pytest

from mercato.chassis import security
from mercato.chassis.security import (
    AuthError,
    Principal,
    TokenVerifier,
    Verified,
)
from tests.support.service_http import FakeIdentity

ISS, AUD = "mercato-identity", "mercato"


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Every signature check (``jwt.decode`` as the security module calls it)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token, *args, **kwargs):
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(security.jwt, "decode", counting)
    return seen


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_user_token_is_checked_once_until_it_expires(decodes):
    identity, clock = FakeIdentity(ISS, AUD), Clock()
    verifier = TokenVerifier(identity.fetch_jwks, ISS, AUD, now=clock)
    token = identity.token("u1", roles=("customer", "admin"))
    first = await verifier.verify(token)
    again = [await verifier.verify(token) for _ in range(3)]
    assert first.subject == "u1" and first.is_admin
    assert again == [first] * 3
    assert decodes == [token]
    clock.now += 301  # past its exp (300 s): checked again (accepted within the leeway)
    assert (await verifier.verify(token)).subject == "u1"
    assert decodes == [token, token]


async def test_the_edge_reads_the_bearer_header_and_shares_the_same_memory(decodes):
    identity = FakeIdentity(ISS, AUD)
    verifier = TokenVerifier(identity.fetch_jwks, ISS, AUD)
    token = identity.token("u1")
    for _ in range(3):
        assert (await verifier.principal(f"Bearer {token}")).subject == "u1"
    assert (await verifier.verify(token)).subject == "u1"
    assert decodes == [token]  # one signature check for all four
    for header in (None, "", "Basic dTox", "Bearer"):
        with pytest.raises(AuthError):
            await verifier.principal(header)


async def test_a_refused_token_is_never_remembered(decodes):
    identity = FakeIdentity(ISS, AUD)
    verifier = TokenVerifier(identity.fetch_jwks, ISS, AUD)
    forged = identity.token("u1")[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(AuthError):
            await verifier.verify(forged)
    assert len(decodes) == 2 and len(verifier.verified) == 0


async def test_a_new_key_set_forgets_tokens_its_old_keys_vouched_for():
    identity, other = FakeIdentity(ISS, AUD), FakeIdentity(ISS, AUD)
    verifier = TokenVerifier(identity.fetch_jwks, ISS, AUD)
    token = identity.token("u1")
    await verifier.verify(token)
    verifier.load_jwks(other.jwks)  # same kid, another key: the old token's signature fails
    with pytest.raises(AuthError):
        await verifier.verify(token)


def test_the_memory_is_bounded_and_drops_the_least_recently_used():
    clock = Clock()
    verified = Verified(size=2, now=clock)
    a, b, c = (Principal(subject=s, roles=frozenset()) for s in "abc")
    verified.put("ta", a, clock.now + 10)
    verified.put("tb", b, clock.now + 10)
    assert verified.get("ta") == a  # now ta is the most recently used
    verified.put("tc", c, clock.now + 20)
    assert (verified.get("ta"), verified.get("tb"), verified.get("tc")) == (a, None, c)
    clock.now += 10  # ta's exp: gone; tc lives till its own
    assert verified.get("ta") is None and verified.get("tc") == c and len(verified) == 1

"""F11: a clock that disagrees by minutes. Tokens minted by a workload whose clock runs
5 minutes ahead (iat in the verifier's future) or behind (exp in its past) are accepted
within ``clock_skew_leeway`` and refused beyond it, for service tokens and users'
access tokens alike; the setting reaches both verifiers and identity's key times."""

from __future__ import annotations

import time

import pytest

from mercato.chassis.identity import ServiceIdentity, ServiceKeys, public_jwk
from mercato.chassis.security import AuthError, TokenVerifier
from mercato.chassis.settings import load_settings
from mercato.services.identity.signing import LEAD, key_times
from tests.support.service_http import WORKLOAD_KEYS, FakeIdentity

SKEW = 300


def service(name: str, now, leeway: int = 30) -> ServiceIdentity:
    key = WORKLOAD_KEYS._keys[name]
    keys = ServiceKeys(lambda: {"keys": [public_jwk(n, WORKLOAD_KEYS._keys[n])
                                         for n in ("orders", "payments")]})
    return ServiceIdentity(name, key, public_jwk(name, key)["kid"], keys, now=now,
                           leeway=leeway)


# ahead; behind, with a token it minted 40 s ago (a caller reuses one for four minutes)
@pytest.mark.parametrize("skew", [SKEW, -SKEW - 40])
def test_a_service_token_from_a_skewed_clock_passes_within_the_leeway_only(skew):
    skewed = service("orders", now=lambda: time.time() + skew)
    token = skewed.token("payments")
    with pytest.raises(AuthError):
        service("payments", time.time, leeway=30).verify(token)
    assert service("payments", time.time, leeway=330).verify(token).subject == "orders"


async def test_a_users_token_from_identity_five_minutes_ahead_passes_within_the_leeway():
    identity = FakeIdentity("mercato-identity", "mercato")
    now = time.time
    strict = TokenVerifier(identity.fetch_jwks, "mercato-identity", "mercato", now=now)
    lenient = TokenVerifier(identity.fetch_jwks, "mercato-identity", "mercato", now=now,
                            leeway=330)
    time_ahead = time.time

    def token() -> str:
        time.time = lambda: time_ahead() + SKEW  # identity's clock, for its iat/exp
        try:
            return identity.token("user-1")
        finally:
            time.time = time_ahead

    issued = token()
    with pytest.raises(AuthError, match="not yet valid"):
        await strict.verify(issued)
    assert (await lenient.verify(issued)).subject == "user-1"


def test_the_setting_reaches_identitys_key_times():
    assert load_settings(clock_skew_leeway=330).clock_skew_leeway == 330
    assert key_times(900, 330).keep.total_seconds() == 900 + 330 + LEAD

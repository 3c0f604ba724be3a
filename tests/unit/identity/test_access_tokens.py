"""Access tokens signed by identity are accepted by the chassis TokenVerifier, and
tokens that are forged, misaddressed, expired or of another kind are refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mercato.chassis.security import AuthError, TokenVerifier
from mercato.services.identity.domain import access_claims
from mercato.services.identity.keys import SigningKey
from tests.support.clock import ManualClock
from tests.unit.identity.conftest import ACCESS_TTL, AUDIENCE, ISSUER, make_identity
from tests.unit.identity.test_domain import NOW, make_user


def verifier_for(jwks: dict, issuer: str = ISSUER, audience: str = AUDIENCE) -> TokenVerifier:
    async def fetch() -> dict:
        return jwks

    return TokenVerifier(fetch, issuer, audience)


async def signed_in(identity, email="ada@example.com") -> tuple[str, dict]:
    user = await identity.register_user(email, "correct horse", "Ada")
    tokens = await identity.sign_in(email, "correct horse")
    return user.id, tokens


def claims_for(user_id: str, **changes) -> dict:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": user_id, "email": "ada@example.com", "roles": ["customer"],
              "typ": "access", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
              "exp": now + 600, "jti": "j"}
    return {**claims, **changes}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_the_chassis_verifier_accepts_identity_access_tokens(identity):
    user_id, tokens = await signed_in(identity)
    principal = await verifier_for(identity.jwks()).verify(tokens["access_token"])
    assert principal.subject == user_id
    assert principal.roles == frozenset({"customer"})
    assert principal.email == "ada@example.com"
    assert not principal.is_admin and not principal.is_service


async def test_access_tokens_name_their_key_and_carry_every_required_claim(identity, clock):
    user_id, tokens = await signed_in(identity)
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"] == identity.key.kid
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    issued = int(clock.now.timestamp())
    assert claims["sub"] == user_id and claims["typ"] == "access"
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    assert (claims["iat"], claims["exp"]) == (issued, issued + ACCESS_TTL)
    assert claims["jti"] and tokens["expires_in"] == ACCESS_TTL
    assert tokens["token_type"] == "bearer"


async def test_an_hs256_token_is_refused_even_when_keyed_with_the_public_key(identity):
    user_id, _ = await signed_in(identity)
    public_x = identity.jwks()["keys"][0]["x"]
    forged = jwt.encode(claims_for(user_id), public_x, algorithm="HS256",
                        headers={"kid": identity.key.kid})
    with pytest.raises(AuthError, match="algorithm"):
        await verifier_for(identity.jwks()).verify(forged)


async def test_an_unsigned_alg_none_token_is_refused(identity):
    user_id, _ = await signed_in(identity)
    unsigned = (_b64({"alg": "none", "typ": "JWT", "kid": identity.key.kid}) + "."
                + _b64(claims_for(user_id)) + ".")
    with pytest.raises(AuthError, match="algorithm"):
        await verifier_for(identity.jwks()).verify(unsigned)


async def test_a_token_signed_by_another_key_is_refused(identity):
    user_id, _ = await signed_in(identity)
    stranger = SigningKey.generate()
    with pytest.raises(AuthError, match="unknown key"):
        await verifier_for(identity.jwks()).verify(stranger.sign(claims_for(user_id)))


async def test_a_token_signed_by_another_key_under_our_key_id_is_refused(identity):
    user_id, _ = await signed_in(identity)
    stranger = SigningKey.generate()
    stranger.kid = identity.key.kid
    with pytest.raises(AuthError, match="invalid token"):
        await verifier_for(identity.jwks()).verify(stranger.sign(claims_for(user_id)))


@pytest.mark.parametrize("changes, reason", [
    ({"aud": "someone-else"}, r"(?i)audience"),
    ({"iss": "evil-identity"}, r"(?i)issuer"),
    ({"typ": "refresh"}, "not an access token"),
    ({"typ": None}, "not an access token"),
])
async def test_a_token_for_another_audience_issuer_or_purpose_is_refused(
        identity, changes, reason):
    user_id, _ = await signed_in(identity)
    token = identity.key.sign(claims_for(user_id, **changes))
    with pytest.raises(AuthError, match=reason):
        await verifier_for(identity.jwks()).verify(token)


async def test_a_verifier_for_another_audience_refuses_our_tokens(identity):
    _, tokens = await signed_in(identity)
    with pytest.raises(AuthError, match=r"(?i)audience"):
        await verifier_for(identity.jwks(), audience="other").verify(tokens["access_token"])


async def test_an_expired_access_token_is_refused():
    long_ago = ManualClock(datetime.now(UTC) - timedelta(seconds=ACCESS_TTL + 60))
    identity = make_identity(clock=long_ago)
    _, tokens = await signed_in(identity)
    with pytest.raises(AuthError, match="expired"):
        await verifier_for(identity.jwks()).verify(tokens["access_token"])


async def test_a_token_whose_signature_was_tampered_with_is_refused(identity):
    user_id, tokens = await signed_in(identity)
    header, _, signature = tokens["access_token"].split(".")
    escalated = _b64(claims_for(user_id, roles=["customer", "admin"]))
    with pytest.raises(AuthError, match="invalid token"):
        await verifier_for(identity.jwks()).verify(f"{header}.{escalated}.{signature}")


def test_claims_built_by_the_domain_round_trip_through_a_signature():
    key = SigningKey.generate()
    claims = access_claims(make_user(), now=NOW, ttl_seconds=60, issuer=ISSUER,
                           audience=AUDIENCE, jti="j")
    public = jwt.PyJWK(key.public_jwk(), algorithm="EdDSA")
    decoded = jwt.decode(key.sign(claims), public, algorithms=["EdDSA"], audience=AUDIENCE,
                         options={"verify_exp": False})
    assert decoded == claims

"""OWASP API2:2023 Broken Authentication, against the running platform.

Access tokens are EdDSA JWTs from identity (its key published at /.well-known/jwks.json).
Each forged or misused token below is refused with a 401 by the gateway, and by a
service on its own port (a service checks tokens itself, docs/zero-trust.md): `alg` none,
HS256 keyed with identity's public key, a key of the attacker's named by `kid` or handed
over by `jku`/`x5u`/`jwk`, and tokens signed with identity's *real* key (read from its
development key file in the data dir) that are expired, not yet valid, for another issuer
or audience, or not access tokens. A refresh token is no access token, and one presented
again after its rotation revokes its whole family. Credential stuffing: logins are
limited per client address and per account (email), 429 with Retry-After, before
identity spends a password hash on them (gateway/ratelimit.py; their tight-limit
behaviour is in tests/system/test_rate_limits.py, here the platform's defaults).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mercato.services.identity.keys import DEV_KEY_NAME
from tests.security.helpers import customer, service_addresses
from tests.system.platform import Platform

ME = "/api/v1/identity/users/me"
FAR = 3600  # an hour: far beyond the 30 s of clock skew tolerated


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}." \
           f"{b64(signature)}"


def hs256(claims: dict, secret: bytes, kid: str) -> str:
    head = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.fixture(scope="module")
def genuine(platform: Platform) -> dict:
    """A customer's real tokens, the claims and kid of the access token, identity's JWKS
    and its private key (the development key file)."""
    token, user = platform.new_customer()
    with platform.client() as c:
        jwks = c.get("/.well-known/jwks.json").json()
    key = load_pem_private_key((platform.data_dir / "identity" / DEV_KEY_NAME).read_bytes(),
                               None)
    return {"token": token, "user": user, "claims": jwt.decode(
        token, options={"verify_signature": False}), "kid": jwt.get_unverified_header(
        token)["kid"], "jwks": jwks, "key": key}


def forged(g: dict, case: str) -> str:
    """One forged or misused token; each claims the admin role, so a token wrongly taken
    would also show as an escalation."""
    now = int(time.time())
    claims = {**g["claims"], "roles": ["customer", "admin"]}
    kid = g["kid"]
    attacker = Ed25519PrivateKey.generate()
    public = g["jwks"]["keys"][0]

    def real(c: dict, **header) -> str:
        return jwt.encode(c, g["key"], algorithm="EdDSA", headers={"kid": kid, **header})

    if case == "alg-none":
        return unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims)
    if case == "alg-None-with-signature":
        return unsigned({"alg": "None", "typ": "JWT", "kid": kid}, claims, b"x" * 64)
    if case == "hs256-public-key-x":
        return hs256(claims, public["x"].encode(), kid)
    if case == "hs256-public-key-raw":
        return hs256(claims, base64.urlsafe_b64decode(public["x"] + "=="), kid)
    if case == "hs256-public-jwk-json":
        return hs256(claims, json.dumps(public).encode(), kid)
    if case == "attacker-key-same-kid":
        return jwt.encode(claims, attacker, algorithm="EdDSA", headers={"kid": kid})
    if case == "kid-path-traversal":
        return jwt.encode(claims, attacker, algorithm="EdDSA",
                          headers={"kid": "../../../../dev/null"})
    if case == "kid-sql":
        return jwt.encode(claims, attacker, algorithm="EdDSA",
                          headers={"kid": "x' UNION SELECT 'k"})
    attacker_jwk = {"kty": "OKP", "crv": "Ed25519", "kid": "attacker", "x": b64(
        attacker.public_key().public_bytes_raw())}
    if case == "jku":
        return jwt.encode(claims, attacker, algorithm="EdDSA", headers={
            "kid": "attacker", "jku": "http://127.0.0.1:9/jwks.json"})
    if case == "x5u":
        return jwt.encode(claims, attacker, algorithm="EdDSA", headers={
            "kid": "attacker", "x5u": "http://127.0.0.1:9/cert.pem"})
    if case == "embedded-jwk":
        return jwt.encode(claims, attacker, algorithm="EdDSA",
                          headers={"kid": "attacker", "jwk": attacker_jwk})
    if case == "embedded-jwk-real-kid":
        return jwt.encode(claims, attacker, algorithm="EdDSA",
                          headers={"kid": kid, "jwk": attacker_jwk})
    if case == "expired":
        return real({**g["claims"], "iat": now - 2 * FAR, "exp": now - FAR})
    if case == "not-yet-valid-nbf":
        return real({**g["claims"], "nbf": now + FAR})
    if case == "issued-in-the-future":
        return real({**g["claims"], "iat": now + FAR, "exp": now + 2 * FAR})
    if case == "wrong-issuer":
        return real({**g["claims"], "iss": "https://evil.example"})
    if case == "wrong-audience":
        return real({**g["claims"], "aud": "mercato-internal"})
    if case == "no-expiry":
        return real({k: v for k, v in g["claims"].items() if k != "exp"})
    if case == "not-an-access-token":
        return real({**g["claims"], "typ": "refresh"})
    if case == "signature-stripped":
        return g["token"].rsplit(".", 1)[0] + "."
    if case == "refresh-token":
        return g["refresh"]
    raise AssertionError(case)


CASES = ["alg-none", "alg-None-with-signature", "hs256-public-key-x", "hs256-public-key-raw",
         "hs256-public-jwk-json", "attacker-key-same-kid", "kid-path-traversal", "kid-sql",
         "jku", "x5u", "embedded-jwk", "embedded-jwk-real-kid", "expired",
         "not-yet-valid-nbf", "issued-in-the-future", "wrong-issuer", "wrong-audience",
         "no-expiry", "not-an-access-token", "signature-stripped"]


def test_the_genuine_token_is_taken_and_a_resigned_copy_too(platform: Platform, genuine):
    """The control: the forgeries below fail for what they change, not for being
    re-signed."""
    resigned = jwt.encode(genuine["claims"], genuine["key"], algorithm="EdDSA",
                          headers={"kid": genuine["kid"]})
    for token in (genuine["token"], resigned):
        with platform.client(token) as c:
            r = c.get(ME)
        assert r.status_code == 200 and r.json()["roles"] == ["customer"], r.text


@pytest.mark.parametrize("case", CASES)
def test_a_forged_or_misused_token_is_refused_by_the_gateway(platform: Platform, genuine,
                                                              case):
    token = forged(genuine, case)
    with platform.client(token) as c:
        me = c.get(ME)
        admin = c.get("/api/v1/ops/services")
    assert me.status_code == 401, me.text
    assert me.headers["www-authenticate"] == "Bearer"
    assert me.headers["content-type"] == "application/problem+json"
    assert admin.status_code == 401, admin.text


@pytest.mark.parametrize("case", ["alg-none", "hs256-public-key-x", "attacker-key-same-kid",
                                  "embedded-jwk", "expired", "wrong-audience",
                                  "not-an-access-token"])
def test_a_forged_token_is_refused_by_a_service_on_its_own_port(platform: Platform, genuine,
                                                                  case):
    identity = service_addresses(platform)["identity"]
    with platform.client(forged(genuine, case)) as c:
        r = c.get(identity + ME)
    assert r.status_code in (401, 403), r.text
    assert genuine["user"]["email"] not in r.text


def test_a_refresh_token_is_not_an_access_token(platform: Platform):
    with platform.client() as c:
        email = f"refresh-{random.getrandbits(40):x}@example.com"
        c.post("/api/v1/identity/users", json={"email": email, "password": "s3cret-pass",
                                                "name": "R"})
        tokens = c.post("/api/v1/identity/token",
                        json={"email": email, "password": "s3cret-pass"}).json()
        r = c.get(ME, headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 401, r.text


def test_a_refresh_token_presented_again_after_rotation_revokes_its_family(
        platform: Platform):
    email = f"rotate-{random.getrandbits(40):x}@example.com"
    with platform.client() as c:
        c.post("/api/v1/identity/users", json={"email": email, "password": "s3cret-pass",
                                                "name": "R"})
        first = c.post("/api/v1/identity/token",
                       json={"email": email, "password": "s3cret-pass"}).json()
        other_session = c.post("/api/v1/identity/token",
                               json={"email": email, "password": "s3cret-pass"}).json()
        refresh = "/api/v1/identity/token/refresh"
        rotated = c.post(refresh, json={"refresh_token": first["refresh_token"]})
        assert rotated.status_code == 200, rotated.text
        assert rotated.headers["cache-control"] == "no-store"
        stolen = c.post(refresh, json={"refresh_token": first["refresh_token"]})  # reuse
        after = c.post(refresh, json={"refresh_token": rotated.json()["refresh_token"]})
        unrelated = c.post(refresh, json={"refresh_token": other_session["refresh_token"]})
        garbage = c.post(refresh, json={"refresh_token": "not-a-token"})
    assert stolen.status_code == 401, stolen.text
    assert after.status_code == 401, after.text  # the whole family went with it
    assert unrelated.status_code == 200, unrelated.text  # another sign-in's family stays
    assert garbage.status_code == 401, garbage.text


def sender(platform: Platform, address: str) -> httpx.Client:
    return httpx.Client(base_url=platform.url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


def own_address() -> str:
    """A loopback address of this test's own (the gateway sees it as the client)."""
    return f"127.0.{random.randint(10, 250)}.{random.randint(2, 250)}"


def test_credential_stuffing_from_one_address_is_cut_off_with_429(platform: Platform):
    """Many accounts tried from one address: past the login limit per address
    (default 20/s, burst 200) the gateway answers 429 with Retry-After, without asking
    identity; another address still signs in. The bodies are refused by identity cheaply
    (no password hash), so the test is quick; each still counts as a sign-in."""
    address = own_address()
    refused: list[httpx.Response] = []

    def attempts(n: int) -> None:
        with sender(platform, address) as c:
            for i in range(n):
                if refused:
                    return
                r = c.post("/api/v1/identity/token", json={"email": f"victim{n}-{i}@x.io"})
                if r.status_code == 429:
                    refused.append(r)
                else:
                    assert r.status_code in (401, 422), r.text

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(attempts, [250] * 4))
    assert refused, "1000 sign-ins from one address in a burst were never limited"
    r = refused[0]
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert "login per client address" in r.json()["detail"]
    user = customer(platform)  # another address is not held back
    with sender(platform, own_address()) as c:
        ok = c.post("/api/v1/identity/token", json={"email": user.user["email"],
                                                     "password": "s3cret-pass"})
    assert ok.status_code == 200, ok.text


def test_password_guessing_on_one_account_is_cut_off_whatever_the_address(
        platform: Platform):
    """One account tried from many addresses, its email spelt differently each time:
    past the limit per account (default 30/min, burst 30) the gateway answers 429 with
    Retry-After, the guesses no longer reach identity."""
    victim = customer(platform)
    email = victim.user["email"]
    spellings = [email, email.upper(), f"  {email} ", email.title()]

    def guess(i: int) -> httpx.Response:
        with sender(platform, own_address()) as c:
            return c.post("/api/v1/identity/token", json={
                "email": spellings[i % len(spellings)], "password": f"guess-{i}"})

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:  # at once: the bucket refills 1 token per 2 s
        answers = list(pool.map(guess, range(48)))
    took = time.monotonic() - started
    codes = [a.status_code for a in answers]
    assert set(codes) == {401, 429}, codes
    assert codes.count(401) <= 30 + took / 2 + 1, (codes, took)  # burst + refill
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert "login per email" in refused.json()["detail"]

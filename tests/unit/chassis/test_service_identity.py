"""Workload identity: a service token proves its caller (signed by that service's own
key, named in the kid), is for one receiver (aud), lives minutes, and is minted and
checked once; keys and secrets are created owner-only; a service's routes take calls from
workloads only, users only as the gateway forwards them, and internal routes only from
the callers they name."""

from __future__ import annotations

import os
import stat
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends

from mercato.chassis import create_service
from mercato.chassis.identity import (
    ServiceIdentity,
    ServiceKeys,
    ensure_private_key,
    load_identity,
    public_jwk,
)
from mercato.chassis.identity import tokens as service_tokens
from mercato.chassis.identity.load import IdentityUnavailable
from mercato.chassis.security import AuthError
from mercato.chassis.settings import load_settings
from mercato.chassis.web import require_service, require_user
from mercato.platform.workload_keys import WORKLOADS, ensure_workload_keys
from tests.support.service_http import (
    NO_TOKEN,
    WORKLOAD_KEYS,
    FakeIdentity,
    bearer,
    client,
    forwarded,
    service_runtime,
)


def me(name: str) -> ServiceIdentity:
    return WORKLOAD_KEYS.identity(name)


def test_a_token_proves_its_caller_to_the_one_service_it_is_for():
    token = me("orders").token("payments")
    caller = me("payments").verify(token)
    assert (caller.subject, caller.is_service) == ("orders", True)
    with pytest.raises(AuthError, match="not for inventory"):
        me("inventory").verify(token)  # stolen from payments' traffic: useless elsewhere


def test_a_key_the_service_jwks_does_not_hold_is_refused():
    key = Ed25519PrivateKey.generate()
    rogue = ServiceIdentity("orders", key, public_jwk("orders", key)["kid"],
                            ServiceKeys(lambda: {}))
    with pytest.raises(AuthError, match="unknown key"):
        me("payments").verify(rogue.token("payments"))


def test_one_service_cannot_sign_in_anothers_name():
    cart_key = WORKLOAD_KEYS._keys["cart"]
    claims = {"iss": "orders", "sub": "orders", "aud": "payments", "iat": int(time.time()),
              "exp": int(time.time()) + 60, "jti": "x"}
    forged = jwt.encode(claims, cart_key, algorithm="EdDSA",
                        headers={"kid": public_jwk("cart", cart_key)["kid"]})
    with pytest.raises(AuthError, match="a token of cart claims to be from orders"):
        me("payments").verify(forged)


@pytest.mark.parametrize("change", ["hs256", "none", "long-lived", "expired", "no-jti"])
def test_other_algorithms_long_lives_and_missing_claims_are_refused(change):
    key = WORKLOAD_KEYS._keys["orders"]
    now = int(time.time())
    claims = {"iss": "orders", "sub": "orders", "aud": "payments", "iat": now,
              "exp": now + 60, "jti": "x"}
    headers = {"kid": public_jwk("orders", key)["kid"]}
    if change == "hs256":
        token = jwt.encode(claims, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256",
                           headers=headers)
    elif change == "none":
        token = jwt.encode(claims, None, algorithm="none", headers=headers)
    else:
        if change == "long-lived":
            claims["exp"] = now + 3600
        elif change == "expired":
            claims.update(iat=now - 900, exp=now - 600)
        else:
            del claims["jti"]
        token = jwt.encode(claims, key, algorithm="EdDSA", headers=headers)
    with pytest.raises(AuthError):
        me("payments").verify(token)


def test_a_token_is_minted_once_per_target_and_checked_once(monkeypatch):
    signed, checked = [], []
    real_encode, real_decode = jwt.encode, jwt.decode
    monkeypatch.setattr(service_tokens.jwt, "encode",
                        lambda *a, **k: signed.append(1) or real_encode(*a, **k))
    monkeypatch.setattr(service_tokens.jwt, "decode",
                        lambda *a, **k: checked.append(1) or real_decode(*a, **k))
    orders, payments = me("orders"), me("payments")
    tokens = {orders.token("payments") for _ in range(5)} | {orders.token("inventory")}
    assert len(tokens) == 2 and len(signed) == 2
    for _ in range(5):
        payments.verify(orders.token("payments"))
    assert len(checked) == 1


def test_a_key_added_to_the_jwks_later_is_found_without_a_restart():
    jwks = {"keys": []}
    keys = ServiceKeys(lambda: jwks, now=lambda: time.monotonic() + 10 * len(jwks["keys"]))
    key = Ed25519PrivateKey.generate()
    newcomer = ServiceIdentity("cart", key, public_jwk("cart", key)["kid"], keys)
    payments = ServiceIdentity("payments", WORKLOAD_KEYS._keys["payments"],
                               public_jwk("payments", WORKLOAD_KEYS._keys["payments"])["kid"],
                               keys)
    jwks["keys"].append(public_jwk("cart", key))  # a rotation publishes the new key
    assert payments.verify(newcomer.token("payments")).subject == "cart"


def test_keys_and_secrets_are_owner_only_and_kept_across_runs(tmp_path):
    ensure_workload_keys(tmp_path)
    keys = tmp_path / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for path in keys.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    first = (keys / "orders.pem").read_bytes()
    ensure_workload_keys(tmp_path)
    assert (keys / "orders.pem").read_bytes() == first
    assert len(list(keys.glob("*.pem"))) == len(WORKLOADS)


def test_a_service_without_its_key_in_the_jwks_does_not_start(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(IdentityUnavailable, match="mercato up"):
        load_identity("orders", settings)
    ensure_workload_keys(tmp_path)
    assert load_identity("orders", settings).service == "orders"
    os.remove(tmp_path / "keys" / "orders.pem")
    ensure_private_key(tmp_path / "keys" / "orders.pem")  # a new key the JWKS lacks
    with pytest.raises(IdentityUnavailable, match="does not hold orders's key"):
        load_identity("orders", settings)


@pytest.fixture
def app(tmp_path):
    router = APIRouter()

    @router.post("/internal/refunds")
    async def refund(_c=Depends(require_service("orders"))) -> dict:
        return {"refunded": True}

    @router.get("/api/v1/mine")
    async def mine(user=Depends(require_user)) -> dict:
        return {"user": user.subject}

    @router.post("/api/v1/mine")
    async def change_mine(user=Depends(require_user)) -> dict:
        return {"changed": user.subject}

    runtime = service_runtime("payments", tmp_path)
    users = FakeIdentity(runtime.settings.token_issuer, runtime.settings.token_audience)
    from mercato.chassis.security import TokenVerifier

    runtime.verifier = TokenVerifier(users.fetch_jwks, runtime.settings.token_issuer,
                                     runtime.settings.token_audience)
    service = create_service(runtime, routers=[router], migrations_dir=None)
    service.state.users = users
    return service


async def test_internal_routes_take_only_the_callers_they_name(app):
    async with client(app, headers={}) as c:
        ok = await c.post("/internal/refunds", headers=bearer(me("orders").token("payments")))
        other = await c.post("/internal/refunds", headers=bearer(me("cart").token("payments")))
        nobody = await c.post("/internal/refunds", headers=NO_TOKEN)
    assert ok.status_code == 200
    assert other.status_code == 403
    assert other.json()["detail"] == "cart may not call POST /internal/refunds (allowed: orders)"
    assert other.json()["type"].endswith("/caller-not-allowed")
    assert nobody.status_code == 401
    assert app.state.allowlist == {"POST /internal/refunds": ["orders"],
                                   "GET /internal/breakers": ["cli", "gateway"]}


async def test_a_user_counts_only_as_the_gateway_forwards_them(app):
    user = app.state.users.token("ada")
    async with client(app, headers={}) as c:
        via_gateway = await c.get("/api/v1/mine", headers=forwarded("payments", user))
        direct = await c.get("/api/v1/mine", headers=bearer(user))
        via_cart = await c.get("/api/v1/mine", headers={
            **bearer(me("cart").token("payments")), "X-Mercato-User": user})
        as_user_internal = await c.post("/internal/refunds",
                                        headers=forwarded("payments", user))
    assert via_gateway.json() == {"user": "ada"}
    assert direct.status_code == 401  # the gateway's limits cannot be walked around
    assert "services take calls from other services and from the gateway" in \
        direct.json()["detail"]
    assert via_cart.status_code == 403
    assert as_user_internal.status_code == 403


async def test_the_mobile_bff_reads_for_a_user_and_never_writes(app):
    user = app.state.users.token("ada")
    headers = {**bearer(me("mobile-bff").token("payments")), "X-Mercato-User": user}
    async with client(app, headers={}) as c:
        read = await c.get("/api/v1/mine", headers=headers)
        write = await c.post("/api/v1/mine", headers=headers)
        via_gateway = await c.post("/api/v1/mine", headers=forwarded("payments", user))
    assert read.json() == {"user": "ada"}
    assert write.status_code == 403
    assert write.json()["detail"] == "mobile-bff may only read on behalf of a user, not POST"
    assert via_gateway.json() == {"changed": "ada"}

"""Identity's HTTP routes inside the real chassis app: shapes, status codes, bad input."""

from __future__ import annotations

import pytest

from mercato.chassis import create_service
from mercato.chassis.errors import NotFound
from mercato.chassis.security import TokenVerifier
from mercato.services.identity.api import router
from mercato.services.identity.domain import (
    InvalidEmail,
    InvalidUser,
    KeyAlreadyKnown,
    NotAuthenticated,
)
from mercato.services.identity.errors import ERRORS
from mercato.services.identity.signing import NoSigningKey
from tests.support.service_http import bearer, caller_token, forwarded, service_runtime
from tests.support.service_http import client as http_client
from tests.unit.identity.conftest import AUDIENCE, ISSUER, make_identity

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(tmp_path):
    identity = make_identity()
    runtime = service_runtime("identity", tmp_path)

    async def no_fetch() -> dict:
        raise RuntimeError("identity must not call itself for its own keys")

    runtime.verifier = TokenVerifier(no_fetch, ISSUER, AUDIENCE)
    runtime.verifier.load_jwks(identity.jwks())
    # The lifespan (NATS, migrations) is not run here; wire what on_start would.
    app = create_service(runtime, routers=[router], migrations_dir=None, errors=ERRORS)
    app.state.identity = identity
    async with http_client(app) as c:
        c.service = bearer(caller_token(runtime))
        yield c


USER = {"email": "Ada@Example.com", "password": "correct horse", "name": "Ada"}


async def register_and_sign_in(client) -> dict:
    assert (await client.post("/api/v1/identity/users", json=USER)).status_code == 201
    resp = await client.post("/api/v1/identity/token",
                             json={"email": USER["email"], "password": USER["password"]})
    assert resp.status_code == 200
    return resp.json()


async def test_registering_answers_201_with_the_public_user_only(client):
    resp = await client.post("/api/v1/identity/users", json=USER)
    assert resp.status_code == 201
    body = resp.json()
    assert set(body) == {"id", "email", "name", "roles"}
    assert body["email"] == "ada@example.com" and body["roles"] == ["customer"]


async def test_a_duplicate_email_answers_409_problem(client):
    await client.post("/api/v1/identity/users", json=USER)
    resp = await client.post("/api/v1/identity/users", json={**USER, "email": "ADA@example.com"})
    assert resp.status_code == 409
    assert resp.headers["content-type"] == PROBLEM
    body = resp.json()
    body.pop("correlation_id")
    assert body == {"type": "https://mercato.dev/problems/duplicate-email", "title": "Conflict",
                    "status": 409, "detail": "a user with this email already exists"}


@pytest.mark.parametrize("body, field", [
    ({"password": "correct horse", "name": "Ada"}, "email"),
    ({"email": "a@example.com", "name": "Ada"}, "password"),
    ({"email": "a@example.com", "password": "correct horse"}, "name"),
    ({**USER, "email": 42}, "email"),
    ({**USER, "password": 12345678}, "password"),
    ({**USER, "name": ["Ada"]}, "name"),
    ({**USER, "email": "not-an-email"}, "email"),
    ({**USER, "password": "short"}, "password"),
    ({**USER, "password": "x" * 129}, "password"),
    ({**USER, "name": "   "}, "name"),
    ({**USER, "roles": ["admin"]}, "roles"),
])
async def test_bad_registration_input_answers_422_naming_the_field(client, body, field):
    resp = await client.post("/api/v1/identity/users", json=body)
    assert resp.status_code == 422
    problem = resp.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert field in problem["detail"]
    assert "Value error" not in problem["detail"]


async def test_malformed_json_answers_400(client):
    resp = await client.post("/api/v1/identity/users", content=b'{"email": ',
                             headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert "JSON" in resp.json()["detail"]


async def test_signing_in_answers_bearer_tokens_that_are_never_cached(client):
    tokens = await register_and_sign_in(client)
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    resp = await client.post("/api/v1/identity/token/refresh",
                             json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("credentials", [
    {"email": "ada@example.com", "password": "wrong horse"},
    {"email": "nobody@example.com", "password": "correct horse"},
    {"email": "not even an email", "password": "correct horse"},
])
async def test_wrong_credentials_answer_the_same_401(client, credentials):
    await register_and_sign_in(client)
    resp = await client.post("/api/v1/identity/token", json=credentials)
    assert resp.status_code == 401
    assert resp.json()["detail"] == "the email or password is not correct"
    assert resp.headers["www-authenticate"] == "Bearer"


async def test_a_reused_refresh_token_answers_401(client):
    tokens = await register_and_sign_in(client)
    url = "/api/v1/identity/token/refresh"
    assert (await client.post(url, json={"refresh_token": tokens["refresh_token"]})).is_success
    resp = await client.post(url, json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["type"].endswith("/unauthorized")
    assert resp.json()["detail"] == "the refresh token is not valid"
    assert (await client.post(url, json={"refresh_token": 7})).status_code == 422


async def test_me_shows_the_caller_without_password_material(client):
    tokens = await register_and_sign_in(client)
    resp = await client.get("/api/v1/identity/users/me",
                            headers=forwarded("identity", tokens["access_token"]))
    assert resp.status_code == 200
    assert set(resp.json()) == {"id", "email", "name", "roles", "loyalty_points"}
    assert resp.json()["loyalty_points"] == 0  # before any ledger entry
    assert "argon2" not in resp.text


@pytest.mark.parametrize("authorization", [None, "Bearer garbage", "Basic abc"])
async def test_me_without_a_valid_token_answers_401(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    resp = await client.get("/api/v1/identity/users/me", headers=headers)
    assert resp.status_code == 401


async def test_me_refuses_a_service_token_with_403(client):
    resp = await client.get("/api/v1/identity/users/me", headers=client.service)
    assert resp.status_code == 403


async def test_the_jwks_publishes_only_public_signing_keys(client):
    resp = await client.get("/.well-known/jwks.json")
    assert resp.status_code == 200
    [key] = resp.json()["keys"]
    assert {key["kty"], key["crv"], key["alg"], key["use"]} == {"OKP", "Ed25519", "EdDSA", "sig"}
    assert key["kid"] and "d" not in key



@pytest.mark.parametrize(("error", "answer"), [
    (InvalidUser("name must not be blank"), (422, None, "name must not be blank")),
    (InvalidEmail("is not a valid email address"),
     (422, None, "is not a valid email address")),
    (NotFound("the user was not found"), (404, "not-found", "the user was not found")),
    (NotAuthenticated("the refresh token is not valid"),
     (401, None, "the refresh token is not valid")),
])
def test_the_table_answers_as_the_routes_did(error, answer):
    """A ``None`` kind is the status's own (``unprocessable-entity``, ``unauthorized``)."""
    got = ERRORS.answer(error)
    assert (got.status, got.kind, got.detail, got.facts, got.retry_after) == (*answer, {}, None)


def test_identitys_bugs_are_not_answered():
    assert ERRORS.answer(NoSigningKey("identity has no active signing key")) is None
    assert ERRORS.answer(KeyAlreadyKnown("key k1 is known already")) is None

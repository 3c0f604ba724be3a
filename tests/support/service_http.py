"""Drive a service's real FastAPI app in process: real routes, validation, error handlers
and token checks, with handlers wired to a test database instead of the lifespan's."""

from __future__ import annotations

import json
import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from mercato.chassis import Runtime, load_settings
from mercato.chassis.runtime import make_instance
from mercato.chassis.security import ServiceTokens, TokenVerifier


class FakeIdentity:
    """Signs access tokens the way identity does, with a key only this test knows."""

    def __init__(self, issuer: str, audience: str) -> None:
        self._key = Ed25519PrivateKey.generate()
        public = json.loads(OKPAlgorithm.to_jwk(self._key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "test-key"}]}
        self._issuer = issuer
        self._audience = audience

    async def fetch_jwks(self) -> dict:
        return self.jwks

    def token(self, subject: str, roles: tuple[str, ...] = ("customer",)) -> str:
        now = int(time.time())
        claims = {"sub": subject, "roles": list(roles), "typ": "access", "iss": self._issuer,
                  "aud": self._audience, "iat": now, "exp": now + 300}
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": "test-key"})


def service_runtime(service: str, tmp_path) -> Runtime:
    """A Runtime with settings under ``tmp_path`` and the service's own service tokens.
    No verifier: ``service_app`` sets one, or the caller does (identity trusts its own keys)."""
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime(service, settings, make_instance(service, 1, "http://test", "1"))
    runtime.tokens = ServiceTokens(settings.service_secret, service)
    return runtime


def caller_token(runtime: Runtime, caller: str = "orders") -> str:
    """A service token as another service (orders, unless named) would send it."""
    return ServiceTokens(runtime.settings.service_secret, caller).token()


def service_app(service: str, build, tmp_path) -> tuple[object, FakeIdentity, str]:
    """The service's app, an identity for user tokens, and a service token."""
    runtime = service_runtime(service, tmp_path)
    settings = runtime.settings
    identity = FakeIdentity(settings.token_issuer, settings.token_audience)
    runtime.verifier = TokenVerifier(identity.fetch_jwks, settings.token_issuer,
                                     settings.token_audience)
    return build(runtime), identity, caller_token(runtime)


def client(app, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                             headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

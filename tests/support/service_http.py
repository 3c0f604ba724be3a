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
from mercato.chassis.identity import ServiceIdentity, ServiceKeys, public_jwk
from mercato.chassis.identity.tokens import USER_HEADER
from mercato.chassis.runtime import make_instance
from mercato.chassis.security import TokenVerifier

WORKLOADS = ("identity", "catalog", "inventory", "cart", "orders", "payments", "shipping",
             "notifications", "loyalty", "mobile-bff", "gateway", "cli")


class Workloads:
    """A key per workload and the service JWKS of them all, as ``mercato up`` makes them
    (platform/workload_keys.py), kept in memory for one test session."""

    def __init__(self, names: tuple[str, ...] = WORKLOADS) -> None:
        self._keys = {name: Ed25519PrivateKey.generate() for name in names}
        self.jwks = {"keys": [public_jwk(n, k) for n, k in self._keys.items()]}

    def identity(self, name: str) -> ServiceIdentity:
        key = self._keys[name]
        return ServiceIdentity(name, key, public_jwk(name, key)["kid"],
                               ServiceKeys(lambda: self.jwks))


WORKLOAD_KEYS = Workloads()


class FakeIdentity:
    """Signs access tokens the way identity does, with a key only this test knows."""

    def __init__(self, issuer: str, audience: str) -> None:
        self._key = Ed25519PrivateKey.generate()
        public = json.loads(OKPAlgorithm.to_jwk(self._key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "test-key"}]}
        self._issuer = issuer
        self._audience = audience
        self.service = ""  # the service under test, set by ``service_app``

    async def fetch_jwks(self) -> dict:
        return self.jwks

    def token(self, subject: str, roles: tuple[str, ...] = ("customer",)) -> str:
        now = int(time.time())
        claims = {"sub": subject, "roles": list(roles), "typ": "access", "iss": self._issuer,
                  "aud": self._audience, "iat": now, "exp": now + 300}
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": "test-key"})

    def headers(self, subject: str, roles: tuple[str, ...] = ("customer",)) -> dict[str, str]:
        """A request of ``subject`` to the service under test as the gateway forwards it."""
        return forwarded(self.service, self.token(subject, roles))


def forwarded(service: str, user_token: str) -> dict[str, str]:
    """The gateway's token for ``service`` and the end user's token it acts for."""
    gateway = WORKLOAD_KEYS.identity("gateway").token(service)
    return {"Authorization": f"Bearer {gateway}", USER_HEADER: user_token}


def service_runtime(service: str, tmp_path) -> Runtime:
    """A Runtime with settings under ``tmp_path`` and the service's own service tokens.
    No verifier: ``service_app`` sets one, or the caller does (identity trusts its own keys)."""
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime(service, settings, make_instance(service, 1, "http://test", "1"))
    runtime.identity = WORKLOAD_KEYS.identity(service)
    return runtime


def caller_token(runtime: Runtime, caller: str = "orders") -> str:
    """A service token as another service (orders, unless named) would send it."""
    return WORKLOAD_KEYS.identity(caller).token(runtime.service)


def service_app(service: str, build, tmp_path) -> tuple[object, FakeIdentity, str]:
    """The service's app, an identity for user tokens, and a service token."""
    runtime = service_runtime(service, tmp_path)
    settings = runtime.settings
    identity = FakeIdentity(settings.token_issuer, settings.token_audience)
    identity.service = service
    runtime.verifier = TokenVerifier(identity.fetch_jwks, settings.token_issuer,
                                     settings.token_audience)
    return build(runtime), identity, caller_token(runtime)


def client(app, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A client of the service's app; by default every request carries the gateway's
    token, as anything the gateway forwards does (``headers={}``: none at all)."""
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    if headers is None and runtime is not None:  # a service's app (not the gateway's)
        headers = bearer(WORKLOAD_KEYS.identity("gateway").token(runtime.service))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                             headers=headers)


NO_TOKEN = {"Authorization": ""}  # a request with no credentials at all


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

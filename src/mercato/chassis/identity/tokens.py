"""Service tokens: who is calling, proven by the caller's own key, for one receiver only.

A token is an EdDSA JWT signed with the calling workload's key (keys.py): ``iss`` and
``sub`` the caller, ``aud`` the one service it is for, ``exp`` at most five minutes on,
a ``jti`` and the key's ``kid``. The receiver accepts it only when the ``kid`` is in the
service JWKS, the key's owner is the ``iss``, the ``aud`` is itself and it has not
expired: a token stolen from one service's traffic acts as its caller towards that one
service only, for minutes, and no service can mint a token in another's name.

Cost (benchmarks/bench_service_tokens.py): a caller signs once per target per
``ttl - renew_before`` seconds and otherwise looks the token up; a receiver verifies a
token once and remembers its principal until its ``exp`` (``Verified``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import PyJWK

from mercato.chassis.identity.keys import owner_of
from mercato.chassis.security import CLOCK_SKEW, AuthError, Principal, Verified, key_id

ALGORITHM = "EdDSA"
MAX_TTL = 300
SERVICE_ROLE = "service"
# The end user a call acts for: their access token, honoured from the gateway only
# (chassis/web/deps.py).
USER_HEADER = "X-Mercato-User"


class ServiceKeys:
    """The service JWKS by kid, read by ``load`` (a file's contents in a process, a dict
    in unit tests) and read again when an unknown kid shows up, at most once a second:
    a key added by a rotation is found without a restart."""

    def __init__(self, load: Callable[[], dict], now: Callable[[], float] = time.monotonic):
        self._load = load
        self._now = now
        self._keys: dict[str, PyJWK] = {}
        self._loaded_at = -1e9
        self.reload()

    @classmethod
    def from_file(cls, path: Path) -> ServiceKeys:
        return cls(lambda: json.loads(Path(path).read_text()))

    def reload(self) -> None:
        keys = {}
        for entry in self._load().get("keys", []):
            if entry.get("kty") == "OKP" and entry.get("kid"):
                keys[entry["kid"]] = PyJWK(entry, algorithm=ALGORITHM)
        self._keys = keys
        self._loaded_at = self._now()

    def key(self, kid: str) -> PyJWK:
        if kid not in self._keys and self._now() - self._loaded_at > 1.0:
            self.reload()
        try:
            return self._keys[kid]
        except KeyError:
            raise AuthError(f"service token signed by an unknown key {kid!r}") from None


class ServiceIdentity:
    """This workload's identity: mints its tokens for each target and checks the tokens
    other workloads present to it."""

    def __init__(self, service: str, key: Ed25519PrivateKey, kid: str, keys: ServiceKeys,
                 *, ttl: int = MAX_TTL, now: Callable[[], float] = time.time,
                 leeway: int = CLOCK_SKEW) -> None:
        if owner_of(kid) != service:
            raise ValueError(f"the key {kid!r} is not {service}'s")
        self.service = service
        self._key = key
        self._kid = kid
        self._keys = keys
        self._ttl = min(ttl, MAX_TTL)
        self._now = now
        self._leeway = leeway  # seconds of clock disagreement with callers tolerated
        self._minted: dict[str, tuple[str, float]] = {}  # audience -> (token, renew at)
        self.verified = Verified(now=now)

    def token(self, audience: str) -> str:
        """A token for ``audience``: the one minted before until a minute before it
        expires, so a caller signs about once per target every four minutes."""
        now = self._now()
        minted = self._minted.get(audience)
        if minted is not None and now < minted[1]:
            return minted[0]
        claims = {"iss": self.service, "sub": self.service, "aud": audience,
                  "iat": int(now), "exp": int(now) + self._ttl, "jti": uuid.uuid4().hex}
        value = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})
        self._minted[audience] = (value, now + self._ttl - 60)
        return value

    def verify(self, token: str) -> Principal:
        """The calling service, or AuthError naming what is wrong with its token."""
        known = self.verified.get(token)
        if known is not None:
            return known
        kid = key_id(token, ALGORITHM, "service token")
        key = self._keys.key(kid)
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=self.service,
                                options={"require": ["exp", "iat", "iss", "aud", "jti"]},
                                leeway=self._leeway)
        except jwt.InvalidAudienceError:
            raise AuthError(f"the service token is not for {self.service}") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid service token: {exc}") from exc
        if claims["iss"] != owner_of(kid):
            raise AuthError(f"a token of {owner_of(kid)} claims to be from {claims['iss']}")
        if claims["exp"] - claims["iat"] > MAX_TTL:
            raise AuthError(f"service tokens live at most {MAX_TTL} s")
        principal = Principal(subject=claims["iss"], roles=frozenset({SERVICE_ROLE}),
                              kind="service")
        self.verified.put(token, principal, float(claims["exp"]))
        return principal

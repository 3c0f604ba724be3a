"""F12: identity's signing key rotated twice during the load.

Both rotations go the way ``mercato keys rotate`` goes (``cli/keys.call_identity``: the
CLI's workload identity calls identity's ``POST /internal/keys/rotate`` through the
registry, and the operator audit trail records it), on the target's data dir. The first
at injection; the second at the heal, once the first key has started signing (identity
publishes a new key ``signing.LEAD`` seconds before it signs, and refuses a rotation while
one is pending). A customer's token is made before the first rotation and another between
the two. Promise, checked after quiescence: no request of the load was refused with a
401, the token signed between carries another key than the one signed before, and both
are still accepted on routes that verify them (the gateway, identity and cart).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from pathlib import Path
from typing import ClassVar

import aiohttp
import jwt
from rich.console import Console

from mercato.chaos.faults.base import Check, Fault, Target, until
from mercato.chassis.settings import load_settings
from mercato.cli.keys import call_identity
from mercato.services.identity.signing import LEAD

PATHS = ("/api/v1/identity/users/me", "/api/v1/cart")  # each verifies the token itself
PASSWORD = "rotation-pass-1"


class RotateKeys(Fault):
    """F12: ``mercato keys rotate`` at the start and at the end of the window."""
    id, what, lengths = "F12", "signing-key rotation (twice)", (LEAD + 1.5, LEAD + 3.0)
    pairs: ClassVar[dict[Path, list[tuple[str, str]]]] = {}  # per window: token made
    # before its first rotation, and once the new key signs
    refused: ClassVar[dict[Path, list[str]]] = {}  # rotations identity refused

    async def inject(self, target: Target) -> str:
        async with _session(target) as http:
            self.email = await until(lambda: _register(http), 30.0, every=1.0)
            if self.email is None:
                raise RuntimeError("no customer could be registered in 30s")
            self.before = await _token(http, self.email)
        return f"token of kid {_kid(self.before)[:8]} made; " + await _rotate(target, LEAD + 3)

    async def heal(self, target: Target) -> str:
        """A token once the new key signs (the window may have been cut short by a late
        start), then the second rotation."""
        before = self.before
        async with _session(target) as http:
            async def signed_anew() -> str | None:
                token = await _token(http, self.email)
                return token if _kid(token) != _kid(before) else None
            between = await until(signed_anew, LEAD + 3) or await _token(http, self.email)
        self.pairs.setdefault(target.data_dir, []).append((before, between))
        return f"token of kid {_kid(between)[:8]} made; " + await _rotate(target, LEAD + 3)

    async def checks(self, target: Target) -> list[Check]:
        bad = [f"rotation refused: {why}" for why in self.refused.get(target.data_dir, [])]
        unauthorized = target.load().get("errors", {}).get("401", 0)
        if unauthorized:
            bad.append(f"the load saw {unauthorized} requests refused with 401")
        pairs = self.pairs.get(target.data_dir, [])
        for first, second in pairs:
            if _kid(first) == _kid(second):
                bad.append(f"tokens made before and after a rotation share kid {_kid(first)}")
        tokens = [token for pair in pairs for token in pair]
        async with _session(target) as http:
            for token in tokens:
                for path in PATHS:
                    async with http.get(path, headers={"Authorization": f"Bearer {token}"}
                                        ) as r:
                        if r.status != 200:
                            bad.append(f"{path} answered {r.status} to a token of kid "
                                       f"{_kid(token)}")
        return [Check("no valid token refused across key rotations (F12)",
                      bool(tokens) and not bad,
                      f"{len(tokens)} tokens made around rotations, {unauthorized} 401s "
                      "in the load", count=len(bad), violations=bad[:20], inv="INV-auth")]


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token).get("kid"))


def _session(target: Target) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(target.url, timeout=aiohttp.ClientTimeout(total=20))


async def _register(http: aiohttp.ClientSession) -> str | None:
    """A new customer's email, or None if identity did not register it."""
    email = f"rotation-{uuid.uuid4().hex[:10]}@example.com"
    async with http.post("/api/v1/identity/users", json={
            "email": email, "password": PASSWORD, "name": "Key Rotation"}) as r:
        return email if r.status == 201 else None


async def _token(http: aiohttp.ClientSession, email: str) -> str:
    for _ in range(3):  # a login may time out on a busy machine, as registration may
        async with http.post("/api/v1/identity/token",
                             json={"email": email, "password": PASSWORD}) as r:
            if r.status == 200:
                return (await r.json())["access_token"]
        await asyncio.sleep(1.0)
    raise RuntimeError(f"login answered {r.status}")


async def _rotate(target: Target, patience: float) -> str:
    """``mercato keys rotate``'s call; asked again for up to ``patience`` seconds while
    identity refuses it (a previous key still pending). What identity answered."""
    settings = load_settings(data_dir=target.data_dir, service_key_file=None,
                             service_jwks_file=None, nats_nkey_file=None)
    deadline = time.monotonic() + patience
    while True:
        out = io.StringIO()
        console = Console(file=out, width=200, color_system=None)
        code = await call_identity(settings, console, "POST", "/internal/keys/rotate",
                                   as_json=True)
        said = " ".join(out.getvalue().split())
        if code == 0:
            new = json.loads(out.getvalue())["new"]
            return f"rotated to kid {new['kid'][:8]}, signing from {new['activates_at']}"
        if time.monotonic() >= deadline:
            RotateKeys.refused.setdefault(target.data_dir, []).append(said[:200])
            return f"rotation refused: {said[:160]}"
        await asyncio.sleep(0.5)

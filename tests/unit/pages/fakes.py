"""A fake public API for page tests: canned answers per (method, path), every call kept."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mercato.chassis.security import AuthError, Principal
from mercato.pages.api import ApiReply


@dataclass
class FakeApi:
    answers: dict[tuple[str, str], ApiReply] = field(default_factory=dict)
    calls: list[dict] = field(default_factory=list)

    def on(self, method: str, path: str, status: int, body=None) -> None:
        self.answers[(method, path)] = ApiReply(status, json.dumps(body).encode()
                                                if body is not None else b"")

    async def request(self, method, path, *, token=None, json=None, headers=None,
                      client=None) -> ApiReply:
        self.calls.append({"method": method, "path": path, "token": token, "json": json,
                           "headers": headers or {}, "client": client})
        return self.answers.get((method, path), ApiReply(404, b'{"detail": "not here"}'))


class FakeVerifier:
    """Tokens named ``user:<id>`` or ``admin:<id>`` are valid; anything else is refused."""

    async def __call__(self, token: str) -> Principal:
        kind, _, who = token.partition(":")
        if kind not in ("user", "admin") or not who:
            raise AuthError("invalid token")
        roles = {"customer"} | ({"admin"} if kind == "admin" else set())
        return Principal(subject=who, roles=frozenset(roles), email=f"{who}@example.com")

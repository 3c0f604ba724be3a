"""What a page asks of the platform: the public JSON API (docs/api.md), nothing else.

The storefront and the console speak to the platform only through an ``Api``: one call is
one request of the public API, answered with its status, headers and body. The gateway
serves it in process (gateway/inprocess.py), so a page's calls meet the same routing,
access rules, rate limits, breakers and traces as a curl call; a test can serve it with a
fake. Nothing here knows a service's address.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class ApiReply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None

    def problem(self) -> str:
        """The problem's ``detail`` (or title), for showing to a person."""
        try:
            body = self.json()
        except ValueError:
            return f"the platform answered {self.status}"
        if isinstance(body, dict):
            return str(body.get("detail") or body.get("title") or self.status)
        return f"the platform answered {self.status}"

    def field_errors(self) -> dict[str, str]:
        """A 422's ``errors`` as ``{field: message}``, the field being the last part of its
        dotted path (``shipping_address.city`` -> ``city``), for a form to show."""
        try:
            body = self.json()
        except ValueError:
            return {}
        errors = body.get("errors") if isinstance(body, dict) else None
        found: dict[str, str] = {}
        for error in errors or []:
            name = str(error.get("field", "")).split(".")[-1]
            found.setdefault(name, str(error.get("message", "is not valid")))
        return found


class Api(Protocol):
    async def request(self, method: str, path: str, *, token: str | None = None,
                      json: Any = None, headers: dict[str, str] | None = None,
                      client: tuple[str, int] | None = None) -> ApiReply:
        """One request of the public API; ``token`` is sent as ``Authorization: Bearer``,
        ``client`` is the browser's address (rate limits count it)."""
        ...

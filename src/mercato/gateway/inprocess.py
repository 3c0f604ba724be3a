"""The public API served to the gateway's own pages in process (pages/api.py's ``Api``).

A page's call is handed to the gateway's request handler as an ASGI request built here —
no socket, no second hop — so it meets exactly what a curl call meets: routing, access
rules, rate limits (with the browser's address), breakers, retries, and a server span that
is a child of the page's span. Why by hand: httpx's ASGITransport would do the same, but
sets one client address per transport and would make httpx a runtime dependency.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any
from urllib.parse import urlsplit

from mercato.chassis.context import request_id_var
from mercato.chassis.telemetry.tracing import current_traceparent
from mercato.pages.api import ApiReply

LOCAL = ("127.0.0.1", 0)


class InProcessApi:
    def __init__(self, handle) -> None:
        self.handle = handle  # the gateway's ``handle(scope, receive, send)``

    async def request(self, method: str, path: str, *, token: str | None = None,
                      json: Any = None, headers: dict[str, str] | None = None,
                      client: tuple[str, int] | None = None) -> ApiReply:
        parts = urlsplit(path)
        body = b"" if json is None else jsonlib.dumps(json).encode()
        sent = [(b"host", b"gateway"), (b"accept", b"application/json")]
        if json is not None:
            sent += [(b"content-type", b"application/json"),
                     (b"content-length", str(len(body)).encode())]
        if token:
            sent.append((b"authorization", f"Bearer {token}".encode()))
        rid = request_id_var.get(None)
        if rid:
            sent.append((b"x-request-id", rid.encode()))
        parent = current_traceparent()
        if parent:
            sent.append((b"traceparent", parent.encode()))
        for name, value in (headers or {}).items():
            sent.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": parts.path,
                 "raw_path": parts.path.encode(), "query_string": parts.query.encode(),
                 "root_path": "", "headers": sent, "client": client or LOCAL,
                 "server": ("gateway", 0)}
        delivered = False

        async def receive() -> dict:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        reply = ApiReply(0)
        chunks: list[bytes] = []

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                reply.status = message["status"]
                reply.headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                                 for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.handle(scope, receive, send)
        reply.body = b"".join(chunks)
        return reply

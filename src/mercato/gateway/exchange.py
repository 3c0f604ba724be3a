"""What the gateway reads from a request and adds to its answer, apart from routing
(app.py): the body, whole within its size limit (413) and deadline (408); the problem
title of a status; the low-cardinality route label of metrics and spans; the request id
and trace context added to an answer the gateway did not build (the pages')."""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from mercato.gateway.errors import Reply


async def read_body(receive, hmap: dict, max_body: int, timeout: float) -> bytes:
    """The request's body, refused past ``max_body`` bytes (by its Content-Length or as it
    arrives) or when it is not whole within ``timeout`` seconds: a trickle holds no
    connection for ever."""
    length = hmap.get(b"content-length")
    if length is not None and (not length.isdigit() or int(length) > max_body):
        raise Reply(413, f"the request body exceeds {max_body} bytes")
    chunks, size, more = [], 0, True
    try:
        async with asyncio.timeout(timeout):
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise Reply(499, "client disconnected")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_body:
                    raise Reply(413, f"the request body exceeds {max_body} bytes")
                chunks.append(chunk)
                more = message.get("more_body", False)
    except TimeoutError:
        raise Reply(408, f"the request body did not arrive within {timeout} s",
                    {"Connection": "close"}) from None
    return b"".join(chunks)


def adding(send, extra):
    """``send`` with the request id and trace context added to the answer's headers."""
    async def sending(message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)
    return sending


def route_label(service: str, path: str) -> str:
    """The gateway's ``http.route``: low-cardinality, never the raw path (ids in it)."""
    if service not in ("-", "gateway", "storefront"):
        if path.startswith("/.well-known/"):
            return path
        if path.startswith("/api/mobile/"):
            return "/api/mobile/*"
        return f"/api/{path.split('/', 3)[2]}/{service}/*"  # the version: a routed one
    for prefix in ("/api/v1/ops/", "/api/v1/storefront/", "/health/"):
        if path.startswith(prefix):
            return prefix + "*"
    return "/metrics" if path == "/metrics" else "unmatched"


def title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Closed Request" if status == 499 else "Error"

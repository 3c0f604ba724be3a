"""Audit: every admin state change the gateway routed (the console's actions, and curl's
or a script's alike) and every operator command that changes state without it (``mercato
keys rotate``, ``dlq replay``, ``deploy``/``promote``/``rollback``: platform/audit.py): who,
what, when, and how it was answered; newest first."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.pages import PageKit

PAGE = 50


def describe(entry: dict) -> str:
    """The action in words, from its method and path (a command's words for the CLI's)."""
    if entry.get("method") == "CLI":
        return command_words(entry.get("path", ""))
    parts = entry.get("path", "").split("/")[3:]  # after /api/v1/
    method = entry.get("method", "")
    if parts[:2] == ["ops", "dead-letters"] and parts[-1:] == ["replay"]:
        return f"Replayed dead letter {parts[2]}"
    if parts[:2] == ["ops", "deployments"] and len(parts) == 4:
        return f"{parts[3].capitalize()} the deployment of {parts[2]}"
    if parts[:2] == ["inventory", "stock"] and parts[-1:] == ["adjustments"]:
        return f"Adjusted the stock of {parts[2][:8]}"
    if parts[:2] == ["catalog", "products"]:
        return "Created a product" if method == "POST" else f"Changed product {parts[2][:8]}"
    return f"{method} {entry.get('path', '')}"


def command_words(command: str) -> str:
    """``mercato keys rotate`` → "Rotated the signing keys", and so on."""
    words = command.split()[1:]
    if words[:2] == ["keys", "rotate"]:
        return "Rotated the signing keys"
    if words[:2] == ["dlq", "replay"] and len(words) == 3:
        return f"Replayed dead letter {words[2]}"
    if len(words) == 2 and words[0] in ("deploy", "promote", "rollback"):
        return f"{words[0].capitalize()} the deployment of {words[1]}"
    return command


def routes(kit: PageKit) -> list[Route]:
    async def page(request: Request):
        await admin(kit, request)
        before = request.query_params.get("before", "")
        query = f"?limit={PAGE}" + (f"&before={before}" if before.isdigit() else "")
        reply = await kit.call(request, "GET", "/api/v1/ops/audit" + query)
        if not reply.ok:
            raise HTTPException(503, f"The audit trail cannot be read: {reply.problem()}")
        entries = [{**e, "action": describe(e)} for e in reply.json()["items"]]
        older = entries[-1]["seq"] if len(entries) == PAGE else None
        return kit.render(request, "audit.html",
                          {"entries": entries, "older": older, "active": "audit"})

    return [Route("/audit", page)]

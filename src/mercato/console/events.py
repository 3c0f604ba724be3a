"""Events: the live integration event feed (``GET /api/v1/ops/events``), newest first,
filtered by event type and order id."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.pages import PageKit

EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
ORDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def filters(request: Request) -> dict[str, str]:
    """The filters asked for, the malformed ones dropped."""
    q = request.query_params
    kept = {"type": q.get("type", "").strip(), "order_id": q.get("order_id", "").strip()}
    if not EVENT_TYPE.match(kept["type"]):
        kept["type"] = ""
    if not ORDER_ID.match(kept["order_id"]):
        kept["order_id"] = ""
    return kept


def ids_of(payload: dict) -> list[tuple[str, str]]:
    """The identifiers in a payload (``*_id`` fields), what one follows through the system."""
    return [(k, str(v)) for k, v in payload.items()
            if (k == "id" or k.endswith("_id")) and isinstance(v, str | int)]


def routes(kit: PageKit) -> list[Route]:
    async def feed(request: Request) -> dict:
        await admin(kit, request)
        wanted = filters(request)
        query = urlencode({k: v for k, v in wanted.items() if v} | {"limit": "100"})
        reply = await kit.call(request, "GET", "/api/v1/ops/events?" + query)
        items = reply.json()["items"] if reply.ok else []
        for item in items:
            item["ids"] = ids_of(item.get("payload") or {})
        return {"events": items, "problem": None if reply.ok else reply.problem(),
                "wanted": wanted, "active": "events",
                "query": urlencode({k: v for k, v in wanted.items() if v})}

    async def page(request: Request):
        return kit.render(request, "events.html", await feed(request))

    async def live(request: Request):
        return kit.render(request, "_events.html", await feed(request))

    return [Route("/events", page), Route("/events/live", live)]

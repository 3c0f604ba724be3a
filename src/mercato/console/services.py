"""Services: every instance the registry knows and how the gateway sees it (live): its
version, address, health and last heartbeat, the requests the gateway has in flight to it,
whether the gateway ejected it, and the gateway's circuit breaker for its service."""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.pages import PageKit


def instance_rows(instances: list[dict], breakers: list[dict],
                  now: float | None = None) -> list[dict]:
    """Each instance with the gateway's view of it: the proxy's breaker for its service and
    the balancer's in-flight count and ejection for the instance (``-`` when the gateway
    has not called it yet)."""
    now = time.time() if now is None else now
    guards = {b["service"]: b for b in breakers if b.get("scope") == "proxy"}
    rows = []
    for i in instances:
        guard = guards.get(i["service"])
        seen = {s["instance_id"]: s for s in (guard or {}).get("instances", [])}
        mine = seen.get(i["instance_id"])
        rows.append({**i,
                     "age_s": max(0.0, now - float(i.get("last_heartbeat") or now)),
                     "in_flight": mine["outstanding"] if mine else None,
                     "ejected": bool(mine and mine["ejected"]),
                     "breaker": guard["breaker"]["state"] if guard else None})
    return rows


def routes(kit: PageKit) -> list[Route]:
    async def view(request: Request) -> dict:
        await admin(kit, request)
        reply = await kit.call(request, "GET", "/api/v1/ops/services")
        if not reply.ok:
            raise HTTPException(503, f"The registry cannot be read: {reply.problem()}")
        guards = await kit.call(request, "GET", "/api/v1/ops/breakers")
        breakers = guards.json()["items"] if guards.ok else []
        rows = instance_rows(reply.json()["items"], breakers)
        return {"instances": rows, "active": "services",
                "services": sorted({r["service"] for r in rows})}

    async def page(request: Request):
        return kit.render(request, "services.html", await view(request))

    async def live(request: Request):
        return kit.render(request, "_services.html", await view(request))

    return [Route("/", page), Route("/services/live", live)]

"""Services: every instance the registry knows and how the gateway sees it (live)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.pages import PageKit


def routes(kit: PageKit) -> list[Route]:
    async def view(request: Request) -> dict:
        await admin(kit, request)
        reply = await kit.call(request, "GET", "/api/v1/ops/services")
        if not reply.ok:
            raise HTTPException(503, f"The registry cannot be read: {reply.problem()}")
        return {"instances": reply.json()["items"]}

    async def page(request: Request):
        return kit.render(request, "services.html", await view(request))

    async def live(request: Request):
        return kit.render(request, "_services.html", await view(request))

    return [Route("/", page), Route("/services/live", live)]

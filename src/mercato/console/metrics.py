"""Metrics: small charts of the last minutes — requests/s and errors per service, p95
latency, checkouts confirmed and cancelled — from the gateway's sampler
(``GET /api/v1/ops/metrics/series``), redrawn every few seconds."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.console.charts import HEIGHT, WIDTH, platform_charts
from mercato.pages import PageKit


def routes(kit: PageKit) -> list[Route]:
    async def view(request: Request) -> dict:
        await admin(kit, request)
        reply = await kit.call(request, "GET", "/api/v1/ops/metrics/series")
        if not reply.ok:
            raise HTTPException(503, f"The metrics cannot be read: {reply.problem()}")
        series = reply.json()
        return {"charts": platform_charts(series["points"]), "every": series["every_s"],
                "samples": len(series["points"]), "width": WIDTH, "height": HEIGHT,
                "active": "metrics"}

    async def page(request: Request):
        return kit.render(request, "metrics.html", await view(request))

    async def live(request: Request):
        return kit.render(request, "_charts.html", await view(request))

    return [Route("/metrics", page), Route("/metrics/live", live)]

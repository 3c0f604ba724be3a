"""Deployments: per service, the versions its instances run, its routing policy (canary
weight, blue-green side) and the deployment in progress, with **Promote** and
**Rollback** (each with a confirmation): the same steps as ``mercato promote / rollback``,
run by the gateway (``POST /api/v1/ops/deployments/{service}/{action}``)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.pages import PageKit

ACTIONS = ("promote", "rollback")


def describe(policy: dict | None) -> str:
    """A routing policy in words."""
    if not policy:
        return "every ready instance"
    if policy.get("active"):
        return f"blue-green: all traffic to {policy['active']} (stable {policy['stable']})"
    if policy.get("canary"):
        return (f"canary: {policy['weight']}% to {policy['canary']}, the rest to "
                f"{policy['stable']}")
    return f"only version {policy.get('stable')}"


def routes(kit: PageKit) -> list[Route]:
    async def render(request: Request, outcome: dict | None = None, status: int = 200):
        await admin(kit, request)
        reply = await kit.call(request, "GET", "/api/v1/ops/deployments")
        if not reply.ok:
            raise HTTPException(503, f"The deployments cannot be read: {reply.problem()}")
        table = reply.json()
        for row in table["items"]:
            row["routing"] = describe(row["policy"])
        return kit.render(request, "deployments.html", {
            "services": table["items"], "control": table["control"], "outcome": outcome,
            "active": "deployments"}, status=status)

    async def page(request: Request):
        return await render(request)

    async def act(request: Request):
        await kit.form(request)
        await admin(kit, request)
        service, action = request.path_params["service"], request.path_params["action"]
        if action not in ACTIONS:
            raise HTTPException(404, "No such action.")
        reply = await kit.call(request, "POST",
                               f"/api/v1/ops/deployments/{service}/{action}")
        if reply.ok:
            return await render(request, {"ok": True, **reply.json()})
        return await render(request, {"ok": False, "service": service, "action": action,
                                      "problem": reply.problem()}, 409)

    return [Route("/deployments", page),
            Route("/deployments/{service}/{action}", act, methods=["POST"])]

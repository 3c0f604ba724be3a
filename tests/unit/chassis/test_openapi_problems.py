"""chassis/web/openapi.py: a service's document declares the problem answers the chassis
gives (401/403/413/503 behind a token, 400/422 with input, 404 for a named thing)."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.web.openapi import PROBLEM_REF, declare_problems, problems

PROBLEM = "application/problem+json"


def app_document() -> dict:
    app = FastAPI()

    @app.get("/health/live")
    async def live() -> dict:
        return {}

    @app.post("/api/v1/things/{thing_id}", responses=problems(409))
    async def change(thing_id: str, body: dict) -> dict:
        return {}

    @app.get("/api/v1/things")
    async def listing() -> dict:
        return {}

    return declare_problems(app.openapi(), frozenset({"/health/live"}))


def test_every_guarded_route_declares_the_chassis_problems_as_problem_json():
    paths = app_document()["paths"]
    change = paths["/api/v1/things/{thing_id}"]["post"]["responses"]
    listing = paths["/api/v1/things"]["get"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "503"} <= set(change)
    assert {"401", "403", "413", "503"} <= set(listing)
    assert "422" not in listing and "404" not in listing
    for status in ("422", "409", "401"):
        assert change[status]["content"][PROBLEM]["schema"]["$ref"] == PROBLEM_REF


def test_fastapis_own_validation_body_is_replaced_and_probes_ask_no_token():
    document = app_document()
    live = document["paths"]["/health/live"]["get"]["responses"]
    assert set(live) == {"200"}
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "Problem" in schemas
    assert "correlation_id" in schemas["Problem"]["required"]

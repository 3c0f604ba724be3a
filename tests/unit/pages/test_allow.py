"""A page's 405 names every method of its path (pages/kit.py), not only the first route's
that matched, as Starlette's own would."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mercato.pages.kit import PageKit, page_app
from tests.unit.pages.fakes import FakeApi, FakeVerifier

TEMPLATES = Path(__file__).parents[3] / "src/mercato/storefront/templates"


async def ok(_request):
    return PlainTextResponse("ok")


async def test_two_routes_on_one_path_are_both_in_allow(tmp_path: Path):
    kit = PageKit(FakeApi(), FakeVerifier(), "secret", TEMPLATES, {"home_url": "/"})
    app = page_app(kit, [Route("/form", ok, methods=["GET"]),
                                    Route("/form", ok, methods=["POST"])], tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        assert (await c.post("/form")).text == "ok"
        r = await c.delete("/form")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, POST"

"""The caller's ledger over HTTP (in process): their own entries only, newest first,
cursor paged, and bad paging input answered 422 naming the parameter."""

from __future__ import annotations

import pytest

from mercato.services.loyalty.bootstrap import build
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client
from tests.unit.loyalty.test_loyalty_handlers import deliver, loyalty  # noqa: F401 - fixture

PATH = "/api/v1/identity/users/me/loyalty"


@pytest.fixture
async def client(tmp_path, loyalty):  # noqa: F811 - the fixture above
    app, identity, service_token = service_app("loyalty", build, tmp_path)
    # the lifespan is not run: no broker or registry needed here
    app.state.loyalty = loyalty
    app.state.loyalty_page_max = 200
    async with http_client(app, headers=bearer(service_token)) as http:
        http.ada = identity.headers("ada")
        http.bob = identity.headers("bob")
        http.handlers = loyalty
        yield http


async def test_a_customer_reads_their_own_ledger_newest_first_by_pages(client):
    for n in range(3):
        await deliver(client.handlers, f"o-{n}", 1000 * (n + 1), f"e-{n}")
    await deliver(client.handlers, "o-bob", 500, "e-bob", customer="bob")
    first = await client.get(PATH, params={"limit": 2}, headers=client.ada)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["loyalty_points"] == 60
    assert [(e["order_id"], e["kind"], e["points"]) for e in body["items"]] == [
        ("o-2", "credit", 30), ("o-1", "credit", 20)]
    rest = (await client.get(PATH, params={"limit": 2, "cursor": body["next_cursor"]},
                             headers=client.ada)).json()
    assert [e["order_id"] for e in rest["items"]] == ["o-0"] and rest["next_cursor"] is None
    bob = (await client.get(PATH, headers=client.bob)).json()
    assert (bob["loyalty_points"], [e["order_id"] for e in bob["items"]]) == (5, ["o-bob"])


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": "x"}, "limit"), ({"cursor": "-1"}, "cursor"),
    ({"cursor": "abc"}, "cursor")])
async def test_bad_paging_answers_422_naming_the_parameter(client, params, field):
    reply = await client.get(PATH, params=params, headers=client.ada)
    assert reply.status_code == 422
    assert field in reply.text


async def test_a_service_token_without_a_user_is_refused_with_403(client):
    reply = await client.get(PATH)  # the service's own token, no user
    assert reply.status_code == 403

"""The mobile BFF's routes on its real app: a signed-in user only, the user's own token
handed to the views, problems for a missing or unreachable order, 400 for a refused
query and 422 naming a malformed field."""

from __future__ import annotations

import pytest

from mercato.bff.mobile.bootstrap import build
from mercato.bff.mobile.graphql import Limits, MobileGraphQL
from mercato.bff.mobile.views import MobileViews
from tests.support.service_http import WORKLOAD_KEYS, client, service_app
from tests.unit.bff.fakes import FakeUpstream


class FakeMobile:
    def __init__(self) -> None:
        self.upstream = FakeUpstream()
        self.tokens: list[str | None] = []
        self.graphql = MobileGraphQL(Limits(depth=4))

    def for_user(self, token: str | None) -> MobileViews:
        self.tokens.append(token)
        return MobileViews(self.upstream, self.graphql, 4)


@pytest.fixture
def bff(tmp_path):
    app, identity, _ = service_app("mobile-bff", build, tmp_path)
    app.state.mobile = FakeMobile()
    return app, identity


async def test_home_answers_the_signed_in_user_with_the_token_the_gateway_forwarded(bff):
    app, identity = bff
    headers = identity.headers("u-1")
    async with client(app, headers) as http:
        r = await http.get("/api/mobile/v1/home")
    assert r.status_code == 200
    assert r.json()["cart"] == {"item_count": 3}
    assert app.state.mobile.tokens == [headers["X-Mercato-User"]]


async def test_home_without_a_user_is_401(bff):
    app, _ = bff
    async with client(app) as http:  # the gateway's token, no user
        r = await http.get("/api/mobile/v1/home")
    assert r.status_code == 401


async def test_a_user_token_from_a_service_that_may_not_forward_users_is_403(bff):
    app, identity = bff
    orders = WORKLOAD_KEYS.identity("orders").token("mobile-bff")
    async with client(app, {"Authorization": f"Bearer {orders}",
                            "X-Mercato-User": identity.token("u-1")}) as http:
        r = await http.get("/api/mobile/v1/home")
    assert r.status_code == 403


async def test_the_compact_order_and_its_problems(bff):
    app, identity = bff
    async with client(app, identity.headers("u-1")) as http:
        found = await http.get("/api/mobile/v1/orders/o-1")
        missing = await http.get("/api/mobile/v1/orders/o-9")
        app.state.mobile.upstream.down.add("orders")
        down = await http.get("/api/mobile/v1/orders/o-1")
    assert found.status_code == 200 and found.json()["timeline"][-1]["status"] == "confirmed"
    assert missing.status_code == 404 and "o-9" in missing.json()["detail"]
    assert down.status_code == 503 and "orders" in down.json()["detail"]


async def test_graphql_answers_200_and_refuses_a_too_deep_query_with_400(bff):
    app, identity = bff
    deep = ("{ order(id: \"o-1\") { notifications { order { notifications { order {"
            " status } } } } } }")
    async with client(app, identity.headers("u-1")) as http:
        ok = await http.post("/api/mobile/graphql",
                             json={"query": '{ order(id: "o-1") { status } }'})
        refused = await http.post("/api/mobile/graphql", json={"query": deep})
    assert ok.status_code == 200 and ok.json() == {"data": {"order": {"status": "confirmed"}}}
    assert refused.status_code == 400
    assert "exceeds maximum operation depth of 4" in refused.json()["errors"][0]["message"]


async def test_a_graphql_body_whose_query_is_not_a_string_is_422_naming_the_field(bff):
    app, identity = bff
    async with client(app, identity.headers("u-1")) as http:
        r = await http.post("/api/mobile/graphql", json={"query": 5})
    assert r.status_code == 422 and "query" in r.text

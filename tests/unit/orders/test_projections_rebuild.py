"""Rebuilding the read models on request: orders' internal route, and what
``mercato projections rebuild`` makes of the answers (with a stand-in client)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from mercato.cli.projections import rebuild_all
from mercato.services.orders.bootstrap import build
from tests.support.service_client import FakeServiceClient, reply
from tests.support.service_http import NO_TOKEN, bearer, caller_token, service_app
from tests.support.service_http import client as http_client
from tests.unit.orders.conftest import ALICE, BOB, read_model_rows


@pytest.fixture
def shop(sql_shop):
    """The shop on a migrated database: the read models are SQL."""
    return sql_shop


@pytest.fixture
async def api(tmp_path, shop):
    app, identity, service_token = service_app("orders", build, tmp_path)
    app.state.orders, app.state.views, app.state.projector = (
        shop.orders, shop.views, shop.projector)
    async with http_client(app) as http:
        http.service = bearer(caller_token(app.state.runtime, "cli"))
        http.orders = bearer(service_token)
        http.admin = identity.headers("root", ("customer", "admin"))
        yield http


async def test_the_rebuild_route_replays_the_store_and_reports_the_rows(api, shop):
    await shop.order(ALICE, ("p1", 2))
    refunded = await shop.order(BOB, ("p2", 1))
    await shop.cancel(BOB, refunded)
    await shop.projector.catch_up()
    before = await read_model_rows(shop)
    async with shop.store.db.transaction() as tx:
        await tx.execute("DELETE FROM order_list_view")
    answer = await api.post("/internal/projections/rebuild", headers=api.service)
    assert answer.status_code == 200
    # each order: placed, reserved, paid, shipment scheduled, confirmed; and one cancel
    assert answer.json() == {"service": "orders", "events": 11, "position": 11, "rows": {
        "order_list_view": 2, "order_detail_view": 2, "sales_orders": 2, "sales_by_day": 1,
        "sales_by_product": 1}}
    assert await read_model_rows(shop) == before


async def test_the_rebuild_route_is_for_services_only(api, shop):
    await shop.order(ALICE, ("p1", 2))
    assert (await api.post("/internal/projections/rebuild",
                           headers=api.admin)).status_code == 403
    assert (await api.post("/internal/projections/rebuild",
                           headers=NO_TOKEN)).status_code == 401
    refused = await api.post("/internal/projections/rebuild", headers=api.orders)
    assert refused.status_code == 403 and "orders may not call" in refused.json()["detail"]
    assert await shop.projector.positions() == {  # nothing was rebuilt
        "order_list": 0, "order_detail": 0, "sales": 0}


def console() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None)


async def test_the_command_asks_each_service_and_prints_its_counts():
    client = FakeServiceClient(reply(200, {
        "service": "orders", "events": 12, "position": 12,
        "rows": {"order_list_view": 4, "sales_by_day": 2}}))
    out = console()
    assert await rebuild_all(client, ["orders"], out) == 0
    assert client.sent == [("orders", "POST", "/internal/projections/rebuild", None)]
    assert out.file.getvalue().splitlines() == [
        "orders: rebuilt from 12 events (position 12)",
        "  order_list_view        4 rows",
        "  sales_by_day           2 rows"]


@pytest.mark.parametrize(("answer", "said"), [
    (None, "orders: not rebuilt: orders is unavailable: no ready instance is registered"),
    (reply(500, {"detail": "disk full"}), "orders: not rebuilt: it answered 500 disk full"),
])
async def test_a_service_that_cannot_rebuild_makes_the_command_fail(answer, said):
    out = console()
    assert await rebuild_all(FakeServiceClient(answer), ["orders"], out) == 1
    assert out.file.getvalue().strip() == said

"""The orders query routes over HTTP (in process): the list, the detail and the admin
summary read the read models; "summary" is a route, not an order id."""

from __future__ import annotations

import pytest

from mercato.services.orders.bootstrap import build
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client
from tests.unit.orders.conftest import ALICE


@pytest.fixture
def shop(sql_shop):
    """The shop on a migrated database: its routes read the SQL read models."""
    return sql_shop


@pytest.fixture
async def api(tmp_path, shop):
    app, identity, service_token = service_app("orders", build, tmp_path)
    # the lifespan is not run: the shop's handlers and read models stand in
    app.state.orders, app.state.views = shop.orders, shop.views
    async with http_client(app) as http:
        http.alice = identity.headers("alice")
        http.bob = identity.headers("bob")
        http.admin = identity.headers("root", ("customer", "admin"))
        http.service = bearer(service_token)
        yield http


async def test_the_summary_is_for_admins_only(api, shop):
    await shop.order(ALICE, ("p1", 2))
    await shop.projector.catch_up()
    refused = await api.get("/api/v1/orders/summary", headers=api.alice)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this route needs the admin role"
    assert (await api.get("/api/v1/orders/summary", headers=api.service)).status_code == 403
    assert (await api.get("/api/v1/orders/summary")).status_code == 401
    summary = await api.get("/api/v1/orders/summary", headers=api.admin)
    assert summary.status_code == 200
    assert summary.json()["by_product"] == [
        {"product_id": "p1", "name": "Mug", "currency": "USD", "orders": 1, "units": 2,
         "revenue": 2598}]
    assert summary.json()["totals"] == [{"currency": "USD", "orders": 1, "revenue": 2598}]


async def test_the_list_reads_the_read_model(api, shop):
    order_id = await shop.order(ALICE, ("p1", 2), ("p2", 1))
    assert (await api.get("/api/v1/orders", headers=api.alice)).json() == {"items": []}
    await shop.projector.catch_up()
    listed = await api.get("/api/v1/orders", headers=api.alice)
    assert listed.status_code == 200
    assert listed.json() == {"items": [
        {"id": order_id, "status": "confirmed", "total": 2 * 1299 + 1800, "currency": "USD",
         "created_at": "2026-03-01T09:00:00Z", "item_count": 3}]}
    assert (await api.get("/api/v1/orders", headers=api.bob)).json() == {"items": []}


async def test_the_detail_of_a_fresh_order_is_found_before_the_projector_runs(api, shop):
    shop.hold()
    order_id = await shop.order(ALICE, ("p1", 2), settle=False)
    fresh = await api.get(f"/api/v1/orders/{order_id}", headers=api.alice)
    assert (fresh.status_code, fresh.json()["status"]) == (200, "pending")
    await shop.projector.catch_up()
    projected = await api.get(f"/api/v1/orders/{order_id}", headers=api.alice)
    assert projected.json() == fresh.json()
    assert set(projected.json()) == {"id", "customer_id", "status", "reason", "total",
                                     "currency", "items", "shipping_address", "created_at",
                                     "history", "progress"}


async def test_another_users_order_is_a_404_before_and_after_projection(api, shop):
    order_id = await shop.order(ALICE, ("p1", 1))
    for _ in range(2):
        hidden = await api.get(f"/api/v1/orders/{order_id}", headers=api.bob)
        assert hidden.status_code == 404
        seen = await api.get(f"/api/v1/orders/{order_id}", headers=api.admin)
        assert (seen.status_code, seen.json()["id"]) == (200, order_id)
        await shop.projector.catch_up()

"""The cart's HTTP routes: status codes, problem bodies that name the field, auth."""

from __future__ import annotations

import pytest

from mercato.services.cart.bootstrap import build
from tests.support.service_http import NO_TOKEN, bearer, client, service_app
from tests.unit.cart.conftest import EURO_BOOK, MUG, TEA, UNKNOWN

EMPTY = {"items": [], "total": 0, "currency": "USD"}


@pytest.fixture
async def api(tmp_path, carts):
    app, identity, service_token = service_app("cart", build, tmp_path)
    app.state.carts = carts
    async with client(app) as http:
        http.alice = identity.headers("alice")
        http.bob = identity.headers("bob")
        http.service = bearer(service_token)
        yield http


async def test_a_new_user_sees_an_empty_dollar_cart(api):
    resp = await api.get("/api/v1/cart", headers=api.alice)
    assert resp.status_code == 200 and resp.json() == EMPTY


async def test_put_then_get_shows_the_priced_cart_of_the_caller_only(api):
    put = await api.put(f"/api/v1/cart/items/{MUG}", json={"quantity": 3}, headers=api.alice)
    assert put.status_code == 200
    assert put.json() == {"items": [{"product_id": MUG, "quantity": 3, "unit_price": 1250}],
                          "total": 3750, "currency": "USD"}
    assert (await api.get("/api/v1/cart", headers=api.alice)).json() == put.json()
    assert (await api.get("/api/v1/cart", headers=api.bob)).json() == EMPTY


async def test_quantity_zero_removes_and_delete_empties(api):
    await api.put(f"/api/v1/cart/items/{MUG}", json={"quantity": 1}, headers=api.alice)
    await api.put(f"/api/v1/cart/items/{TEA}", json={"quantity": 1}, headers=api.alice)
    removed = await api.put(f"/api/v1/cart/items/{MUG}", json={"quantity": 0},
                            headers=api.alice)
    assert [i["product_id"] for i in removed.json()["items"]] == [TEA]
    deleted = await api.delete("/api/v1/cart", headers=api.alice)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await api.get("/api/v1/cart", headers=api.alice)).json() == EMPTY


async def test_unknown_product_is_404_naming_it(api):
    resp = await api.put(f"/api/v1/cart/items/{UNKNOWN}", json={"quantity": 1},
                         headers=api.alice)
    assert resp.status_code == 404 and UNKNOWN in resp.json()["detail"]
    assert resp.headers["content-type"] == "application/problem+json"


async def test_another_currency_is_422(api):
    await api.put(f"/api/v1/cart/items/{MUG}", json={"quantity": 1}, headers=api.alice)
    resp = await api.put(f"/api/v1/cart/items/{EURO_BOOK}", json={"quantity": 1},
                         headers=api.alice)
    assert resp.status_code == 422 and resp.json()["type"].endswith("/currency-mismatch")


@pytest.mark.parametrize(("body", "field"), [
    ({}, "quantity"),
    ({"quantity": -1}, "quantity"),
    ({"quantity": 100}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"quantity": 2.0}, "quantity"),
    ({"quantity": "2"}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"quantity": 1, "price": 1}, "price"),
])
async def test_bad_quantities_are_422_naming_the_field(api, body, field):
    resp = await api.put(f"/api/v1/cart/items/{MUG}", json=body, headers=api.alice)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == [field]
    assert (await api.get("/api/v1/cart", headers=api.alice)).json() == EMPTY


async def test_malformed_json_is_400(api):
    resp = await api.put(f"/api/v1/cart/items/{MUG}", content=b'{"quantity": ',
                         headers={**api.alice, "Content-Type": "application/json"})
    assert resp.status_code == 400 and "JSON" in resp.json()["detail"]


async def test_user_routes_need_a_user(api):
    assert (await api.get("/api/v1/cart")).status_code == 401
    assert (await api.get("/api/v1/cart", headers=api.service)).status_code == 403
    garbage = {"Authorization": "Bearer not-a-token"}
    assert (await api.delete("/api/v1/cart", headers=garbage)).status_code == 401


async def test_internal_routes_show_and_clear_any_users_cart_for_services_only(api):
    await api.put(f"/api/v1/cart/items/{TEA}", json={"quantity": 2}, headers=api.alice)
    mine = (await api.get("/api/v1/cart", headers=api.alice)).json()
    seen = await api.get("/internal/carts/alice", headers=api.service)
    assert seen.status_code == 200 and seen.json() == mine
    assert (await api.get("/internal/carts/alice", headers=api.bob)).status_code == 403
    assert (await api.delete("/internal/carts/alice", headers=NO_TOKEN)).status_code == 401
    assert (await api.delete("/internal/carts/alice")).status_code == 403  # the gateway
    cleared = await api.delete("/internal/carts/alice", headers=api.service)
    assert cleared.status_code == 204
    assert (await api.get("/api/v1/cart", headers=api.alice)).json() == EMPTY


async def test_catalog_down_is_503_with_retry_after(api, catalog):
    await api.put(f"/api/v1/cart/items/{TEA}", json={"quantity": 2}, headers=api.alice)
    catalog.up = False
    resp = await api.get("/api/v1/cart", headers=api.alice)
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1"

"""The inventory's HTTP routes: status codes, problem bodies that name the field, auth."""

from __future__ import annotations

import pytest

from mercato.services.inventory.bootstrap import build
from tests.support.service_http import NO_TOKEN, bearer, client, service_app
from tests.unit.inventory.conftest import KNOWN, OTHER, UNKNOWN

ADJUST = f"/api/v1/inventory/stock/{KNOWN}/adjustments"


@pytest.fixture
async def api(tmp_path, inventory):
    app, identity, service_token = service_app("inventory", build, tmp_path)
    app.state.inventory = inventory
    async with client(app) as http:
        http.admin = identity.headers("admin-1", ("customer", "admin"))
        http.user = identity.headers("user-1")
        http.service = bearer(service_token)
        yield http


async def test_adjusting_then_reading_stock_over_http(api):
    made = await api.post(ADJUST, json={"delta": 7, "reason": "initial"}, headers=api.admin)
    assert made.status_code == 200
    read = await api.get(f"/api/v1/inventory/stock/{KNOWN}")
    assert read.status_code == 200
    assert read.json() == {"product_id": KNOWN, "on_hand": 7, "available": 7, "reserved": 0,
                           "sold": 0} == made.json()


async def test_stock_without_a_record_is_a_404_problem(api):
    resp = await api.get(f"/api/v1/inventory/stock/{KNOWN}")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert KNOWN in resp.json()["detail"] and resp.json()["correlation_id"]


async def test_adjustments_need_an_admin(api):
    body = {"delta": 1, "reason": "x"}
    assert (await api.post(ADJUST, json=body)).status_code == 401
    assert (await api.post(ADJUST, json=body, headers=api.user)).status_code == 403
    assert (await api.post(ADJUST, json=body, headers=api.service)).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "x"}, "delta"),
    ({"delta": 1}, "reason"),
    ({"delta": 0, "reason": "x"}, "delta"),
    ({"delta": 1.5, "reason": "x"}, "delta"),
    ({"delta": "3", "reason": "x"}, "delta"),
    ({"delta": True, "reason": "x"}, "delta"),
    ({"delta": 1, "reason": "   "}, "reason"),
    ({"delta": 1, "reason": 5}, "reason"),
    ({"delta": 1, "reason": "x", "extra": 1}, "extra"),
])
async def test_bad_adjustment_bodies_are_422_naming_the_field(api, body, field):
    resp = await api.post(ADJUST, json=body, headers=api.admin)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == [field]
    assert (await api.get(f"/api/v1/inventory/stock/{KNOWN}")).status_code == 404


async def test_malformed_json_is_400(api):
    resp = await api.post(ADJUST, content=b'{"delta": 1,', headers={
        **api.admin, "Content-Type": "application/json"})
    assert resp.status_code == 400 and "JSON" in resp.json()["detail"]


async def test_adjusting_below_reserved_is_409_naming_product_and_amounts(api):
    await api.post(ADJUST, json={"delta": 3, "reason": "initial"}, headers=api.admin)
    resp = await api.post(ADJUST, json={"delta": -4, "reason": "recount"}, headers=api.admin)
    assert resp.status_code == 409
    body = resp.json()
    assert body["type"].endswith("/insufficient-stock")
    assert (body["product_id"], body["delta"], body["available"]) == (KNOWN, -4, 3)


async def test_unknown_product_adjustment_is_404(api):
    resp = await api.post(f"/api/v1/inventory/stock/{UNKNOWN}/adjustments",
                          json={"delta": 3, "reason": "initial"}, headers=api.admin)
    assert resp.status_code == 404 and UNKNOWN in resp.json()["detail"]


async def test_catalog_down_on_first_adjustment_is_503_with_retry_after(api, catalog):
    catalog.up = False
    resp = await api.post(ADJUST, json={"delta": 3, "reason": "initial"}, headers=api.admin)
    assert resp.status_code == 503 and resp.headers["retry-after"]
    assert resp.json()["type"].endswith("/catalog-unavailable")


async def test_idempotency_key_header_replays_or_refuses(api):
    key = {**api.admin, "Idempotency-Key": "adj-1"}
    first = await api.post(ADJUST, json={"delta": 3, "reason": "initial"}, headers=key)
    again = await api.post(ADJUST, json={"delta": 3, "reason": "initial"}, headers=key)
    other = await api.post(ADJUST, json={"delta": 4, "reason": "initial"}, headers=key)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert other.status_code == 422
    assert (await api.get(f"/api/v1/inventory/stock/{KNOWN}")).json()["on_hand"] == 3


async def test_reservation_routes_follow_the_internal_contract(api):
    await api.post(ADJUST, json={"delta": 5, "reason": "initial"}, headers=api.admin)
    body = {"reservation_id": "r1", "order_id": "o1",
            "items": [{"product_id": KNOWN, "quantity": 2}]}
    created = await api.post("/internal/reservations", json=body, headers=api.service)
    repeated = await api.post("/internal/reservations", json=body, headers=api.service)
    assert created.status_code == 201 and repeated.status_code == 200
    assert created.json() == repeated.json()
    assert created.json()["status"] == "reserved"
    commit = await api.post("/internal/reservations/r1/commit", headers=api.service)
    assert commit.status_code == 200 and commit.json()["status"] == "committed"
    release = await api.post("/internal/reservations/r1/release", headers=api.service)
    assert release.status_code == 409
    returned = await api.post("/internal/reservations/r1/return", headers=api.service)
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert (await api.post("/internal/reservations/zz/return",
                           headers=api.service)).status_code == 404
    assert (await api.post("/internal/reservations/zz/commit",
                           headers=api.service)).status_code == 404
    tomb = await api.post("/internal/reservations/zz/release", headers=api.service)
    assert tomb.status_code == 200 and tomb.json()["status"] == "released"
    stock = (await api.get(f"/api/v1/inventory/stock/{KNOWN}")).json()
    assert (stock["on_hand"], stock["available"], stock["reserved"], stock["sold"]) == (
        5, 5, 0, 0)


async def test_out_of_stock_reservation_is_409_with_product_ids(api):
    body = {"reservation_id": "r1", "order_id": "o1",
            "items": [{"product_id": OTHER, "quantity": 1}]}
    resp = await api.post("/internal/reservations", json=body, headers=api.service)
    assert resp.status_code == 409
    assert resp.json()["type"].endswith("/out-of-stock")
    assert resp.json()["product_ids"] == [OTHER]


async def test_reservation_routes_are_for_services_only(api):
    body = {"reservation_id": "r1", "order_id": "o1",
            "items": [{"product_id": KNOWN, "quantity": 1}]}
    assert (await api.post("/internal/reservations", json=body,
                           headers=api.admin)).status_code == 403
    assert (await api.post("/internal/reservations/r1/release",
                           headers=NO_TOKEN)).status_code == 401


@pytest.mark.parametrize(("items", "field"), [
    ([], "items"),
    ([{"product_id": KNOWN, "quantity": 0}], "items.0.quantity"),
    ([{"product_id": KNOWN, "quantity": -1}], "items.0.quantity"),
    ([{"product_id": KNOWN, "quantity": 1.0}], "items.0.quantity"),
    ([{"product_id": KNOWN}], "items.0.quantity"),
    ([{"product_id": "", "quantity": 1}], "items.0.product_id"),
])
async def test_bad_reservation_bodies_are_422_naming_the_field(api, items, field):
    body = {"reservation_id": "r1", "order_id": "o1", "items": items}
    resp = await api.post("/internal/reservations", json=body, headers=api.service)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == [field]

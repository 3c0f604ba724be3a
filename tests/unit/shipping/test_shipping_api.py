"""The shipping routes over HTTP (in process): strict input, problem+json, authorization."""

import pytest

from mercato.services.shipping.bootstrap import build
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client

ADDRESS = {"name": "Ada", "line1": "1 Way", "city": "London", "postal_code": "N1",
           "country": "GB"}
BODY = {"shipment_id": "ship-1", "order_id": "order-1", "customer_id": "user-1",
        "address": ADDRESS, "items": [{"product_id": "prod-1", "quantity": 2}]}


@pytest.fixture
async def client(tmp_path, make_shipping):
    app, identity, service_token = service_app("shipping", build, tmp_path)
    # the lifespan is not run: no broker or registry needed here
    app.state.shipping = await make_shipping()
    async with http_client(app, headers=bearer(service_token)) as http:
        http.user = identity.headers("user-1")
        http.other_user = identity.headers("user-2")
        yield http


async def test_scheduling_answers_201_with_a_tracking_number(client):
    reply = await client.post("/internal/shipments", json=BODY)
    assert reply.status_code == 201
    body = reply.json()
    assert (body["id"], body["order_id"], body["status"]) == ("ship-1", "order-1", "scheduled")
    assert body["tracking_number"].startswith("MRC")


async def test_a_lower_case_country_is_accepted_and_stored_upper_case(client):
    body = {**BODY, "address": {**ADDRESS, "country": "gb"}}
    reply = await client.post("/internal/shipments", json=body)
    assert reply.json()["address"]["country"] == "GB"


async def test_a_blocked_country_is_a_409_not_deliverable(client):
    body = {**BODY, "address": {**ADDRESS, "country": "AQ"}}
    reply = await client.post("/internal/shipments", json=body)
    assert reply.status_code == 409
    assert reply.json()["type"].endswith("/not-deliverable")


async def test_malformed_json_is_a_400(client):
    reply = await client.post("/internal/shipments", content=b"[1,",
                              headers={"Content-Type": "application/json"})
    assert reply.status_code == 400


@pytest.mark.parametrize(("body", "field"), [
    ({k: v for k, v in BODY.items() if k != "address"}, "address"),
    ({**BODY, "address": {**ADDRESS, "city": " "}}, "address.city"),
    ({**BODY, "address": {**ADDRESS, "country": "GBR"}}, "address.country"),
    ({**BODY, "items": []}, "items"),
    ({**BODY, "items": [{"product_id": "p", "quantity": 1.5}]}, "items.0.quantity"),
    ({**BODY, "items": [{"product_id": "p", "quantity": -1}]}, "items.0.quantity"),
    ({**BODY, "shipment_id": 5}, "shipment_id"),
])
async def test_a_bad_field_is_a_422_that_names_it(client, body, field):
    reply = await client.post("/internal/shipments", json=body)
    assert reply.status_code == 422
    assert [e["field"] for e in reply.json()["errors"]] == [field]


async def test_cancel_of_an_unknown_shipment_is_200_and_blocks_its_schedule(client):
    reply = await client.post("/internal/shipments/ship-1/cancel")
    assert (reply.status_code, reply.json()["status"]) == (200, "cancelled")
    reply = await client.post("/internal/shipments", json=BODY)
    assert reply.status_code == 409
    assert reply.json()["type"].endswith("/already-cancelled")


async def test_internal_routes_need_a_service_token(client):
    reply = await client.post("/internal/shipments", json=BODY, headers={"Authorization": ""})
    assert reply.status_code == 401


async def test_listing_needs_an_order_id_and_shows_the_public_fields(client):
    assert (await client.get("/api/v1/shipping/shipments", headers=client.user)).status_code == 422
    await client.post("/internal/shipments", json=BODY)
    reply = await client.get("/api/v1/shipping/shipments", params={"order_id": "order-1"},
                             headers=client.user)
    [item] = reply.json()["items"]
    assert set(item) == {"id", "order_id", "status", "tracking_number", "address", "created_at"}
    assert item["address"] == ADDRESS
    reply = await client.get("/api/v1/shipping/shipments", params={"order_id": "order-1"},
                             headers=client.other_user)
    assert reply.status_code == 200 and reply.json()["items"] == []  # as for none

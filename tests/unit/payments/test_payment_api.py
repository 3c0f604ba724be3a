"""The payments routes over HTTP (in process): input is checked strictly, errors are
problem+json that name the field, and callers are authorized."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mercato.chassis.identity import ServiceIdentity, ServiceKeys, public_jwk
from mercato.services.payments.bootstrap import build
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client
from tests.unit.payments.payment_doubles import FakeProvider

BODY = {"payment_id": "pay-1", "order_id": "order-1", "customer_id": "user-1",
        "amount": 2599, "currency": "USD", "card_token": "tok_ok"}


@pytest.fixture
async def client(tmp_path, make_payments):
    app, identity, service_token = service_app("payments", build, tmp_path)
    # the lifespan is not run: no broker or registry needed here
    app.state.payments = await make_payments(FakeProvider())
    async with http_client(app, headers=bearer(service_token)) as http:
        http.user = identity.headers("user-1")
        http.other_user = identity.headers("user-2")
        http.handlers = app.state.payments
        yield http


async def test_authorize_answers_201_with_the_payment(client):
    reply = await client.post("/internal/payments/authorize", json=BODY)
    assert reply.status_code == 201
    body = reply.json()
    assert {k: body[k] for k in ("id", "order_id", "status", "amount", "currency")} == {
        "id": "pay-1", "order_id": "order-1", "status": "authorized", "amount": 2599,
        "currency": "USD"}


async def test_malformed_json_is_a_400_problem(client):
    reply = await client.post("/internal/payments/authorize", content=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["status"] == 400


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": None}, "amount"),
    ({"amount": 25.99}, "amount"),
    ({"amount": -1}, "amount"),
    ({"amount": 0}, "amount"),
    ({"amount": "2599"}, "amount"),
    ({"currency": "usd"}, "currency"),
    ({"payment_id": ""}, "payment_id"),
    ({"order_id": 12}, "order_id"),
    ({"surprise": 1}, "surprise"),
])
async def test_a_bad_field_is_a_422_that_names_it(client, change, field):
    body = {**BODY, **change}
    body = {k: v for k, v in body.items() if v is not None}
    reply = await client.post("/internal/payments/authorize", json=body)
    assert reply.status_code == 422
    problem = reply.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert field in problem["detail"]


async def test_internal_routes_refuse_a_caller_without_a_service_token(client):
    reply = await client.post("/internal/payments/authorize", json=BODY,
                              headers={"Authorization": ""})
    assert reply.status_code == 401
    key = Ed25519PrivateKey.generate()  # "orders", but not the key the JWKS knows
    kid = public_jwk("orders", key)["kid"]
    forged = ServiceIdentity("orders", key, kid, ServiceKeys(lambda: {})).token("payments")
    reply = await client.post("/internal/payments/pay-1/void",
                              headers={"Authorization": f"Bearer {forged}"})
    assert reply.status_code == 401


async def test_a_declined_card_is_a_402_problem_with_the_payment_kind(client):
    client.handlers.provider.script.append("decline")
    reply = await client.post("/internal/payments/authorize", json={**BODY, "payment_id": "p-d"})
    assert reply.status_code == 402
    assert reply.json()["type"].endswith("/payment-declined")


async def test_the_lifecycle_routes_answer_with_the_new_status(client):
    await client.post("/internal/payments/authorize", json=BODY)
    assert (await client.post("/internal/payments/pay-1/capture")).json()["status"] == "captured"
    reply = await client.post("/internal/payments/pay-1/void")
    assert reply.status_code == 409
    assert reply.json()["type"].endswith("/invalid-transition")
    assert (await client.post("/internal/payments/pay-1/refund")).json()["status"] == "refunded"


async def test_voiding_an_unknown_payment_is_200_voided_and_blocks_its_authorize(client):
    reply = await client.post("/internal/payments/pay-7/void")
    assert (reply.status_code, reply.json()["status"]) == (200, "voided")
    reply = await client.post("/internal/payments/authorize", json={**BODY, "payment_id": "pay-7"})
    assert reply.status_code == 409
    assert reply.json()["type"].endswith("/already-cancelled")


async def test_listing_needs_an_order_id(client):
    reply = await client.get("/api/v1/payments", headers=client.user)
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "query.order_id"


async def test_listing_shows_the_owner_their_payments_and_hides_them_from_others(client):
    await client.post("/internal/payments/authorize", json=BODY)
    reply = await client.get("/api/v1/payments", params={"order_id": "order-1"},
                             headers=client.user)
    assert reply.status_code == 200
    [item] = reply.json()["items"]
    assert set(item) == {"id", "order_id", "status", "amount", "currency", "created_at",
                         "updated_at"}
    reply = await client.get("/api/v1/payments", params={"order_id": "order-1"},
                             headers=client.other_user)
    assert reply.status_code == 200 and reply.json()["items"] == []  # as for none

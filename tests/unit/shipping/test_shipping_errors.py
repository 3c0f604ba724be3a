"""Shipping's table of domain errors (errors.py), and the problems its routes answer for
them: the status, kind, detail, extra members and headers the orchestrator reads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mercato.services.shipping.bootstrap import build
from mercato.services.shipping.domain import (
    AlreadyCancelled,
    AlreadyDelivered,
    IdempotencyMismatch,
    NotDeliverable,
    NoTrackingNumber,
    ShippingError,
    Status,
)
from mercato.services.shipping.errors import ERRORS
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client
from tests.unit.shipping.test_shipping_api import BODY

BASE = "https://mercato.dev/problems/"


@pytest.mark.parametrize(("error", "status", "kind", "facts"), [
    (AlreadyCancelled("s1"), 409, "already-cancelled", {"shipment_id": "s1"}),
    (AlreadyDelivered("s1"), 409, "already-delivered", {"shipment_id": "s1"}),
    (NotDeliverable("AQ"), 409, "not-deliverable", {"country": "AQ"}),
    (IdempotencyMismatch("s1"), 422, "idempotency-mismatch", {}),
    (ShippingError("address city must not be blank"), 422, None, {}),
    (NoTrackingNumber(), 503, "service-unavailable", {}),
])
def test_each_error_is_answered_with_its_status_kind_and_facts(error, status, kind, facts):
    answer = ERRORS.answer(error)
    assert answer is not None
    assert (answer.status, answer.kind, answer.detail, dict(answer.facts)) == (
        status, kind, str(error), facts)


def test_only_running_out_of_tracking_numbers_says_when_to_try_again():
    assert ERRORS.answer(NoTrackingNumber()).retry_after == 1
    assert ERRORS.answer(AlreadyCancelled("s1")).retry_after is None


@pytest.fixture
async def app_with(tmp_path, make_shipping):
    async def make(*numbers: str):
        app, _identity, service_token = service_app("shipping", build, tmp_path)
        app.state.shipping = await make_shipping(*numbers)
        return app, bearer(service_token)
    return make


async def post(app, headers, path: str, json: dict | None = None):
    async with http_client(app, headers=headers) as http:
        return await http.post(path, json=json)


def problem(reply) -> dict:
    body = reply.json()
    body.pop("correlation_id")
    return body


async def test_a_schedule_after_its_cancel_answers_409_already_cancelled(app_with):
    app, headers = await app_with()
    await post(app, headers, "/internal/shipments/ship-1/cancel")
    reply = await post(app, headers, "/internal/shipments", BODY)
    assert reply.status_code == 409
    assert problem(reply) == {
        "shipment_id": "ship-1", "type": BASE + "already-cancelled", "title": "Conflict",
        "status": 409, "detail": "shipment ship-1 was cancelled; it cannot be scheduled"}


async def test_a_cancel_of_a_delivered_shipment_answers_409_already_delivered(app_with):
    app, headers = await app_with()
    await post(app, headers, "/internal/shipments", BODY)
    shipping = app.state.shipping
    shipment = await shipping.store.get("ship-1")
    async with shipping.db.transaction() as tx:
        await shipping.store.save_status(tx, replace(shipment, status=Status.DELIVERED))
    reply = await post(app, headers, "/internal/shipments/ship-1/cancel")
    assert reply.status_code == 409
    assert problem(reply) == {
        "shipment_id": "ship-1", "type": BASE + "already-delivered", "title": "Conflict",
        "status": 409, "detail": "shipment ship-1 was delivered; it cannot be cancelled"}


async def test_a_blocked_country_answers_409_not_deliverable_with_the_country(app_with):
    app, headers = await app_with()
    body = {**BODY, "address": {**BODY["address"], "country": "aq"}}
    reply = await post(app, headers, "/internal/shipments", body)
    assert problem(reply) == {
        "country": "AQ", "type": BASE + "not-deliverable", "title": "Conflict",
        "status": 409, "detail": "shipping does not deliver to country AQ"}


async def test_the_same_id_for_another_order_answers_422_idempotency_mismatch(app_with):
    app, headers = await app_with()
    await post(app, headers, "/internal/shipments", BODY)
    reply = await post(app, headers, "/internal/shipments", {**BODY, "order_id": "order-2"})
    assert reply.status_code == 422
    body = problem(reply)
    assert (body["type"], body["detail"]) == (
        BASE + "idempotency-mismatch",
        "shipment ship-1 was first scheduled for another order or customer")
    assert set(body) == {"type", "title", "status", "detail"}


async def test_no_unique_tracking_number_answers_503_with_retry_after(app_with):
    app, headers = await app_with(*["MRCSAMESAMESA"] * 6)
    await post(app, headers, "/internal/shipments", BODY)
    reply = await post(app, headers, "/internal/shipments",
                       {**BODY, "shipment_id": "ship-2", "order_id": "order-2"})
    assert (reply.status_code, reply.headers["Retry-After"]) == (503, "1")
    assert problem(reply) == {
        "type": BASE + "service-unavailable", "title": "Service Unavailable", "status": 503,
        "detail": "could not allocate a unique tracking number; try again"}

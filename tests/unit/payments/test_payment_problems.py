"""Every refusal of payments over HTTP, answered exactly as the orchestrator and the
gateway read it: status, problem kind, detail, extra members (in order) and headers; and
the table's answer for the two no route can provoke."""

import pytest

from mercato.services.payments.bootstrap import build
from mercato.services.payments.domain import ChangedMeanwhile, InvalidPayment
from mercato.services.payments.errors import ERRORS
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client
from tests.unit.payments.payment_doubles import FakeProvider

BODY = {"payment_id": "pay-1", "order_id": "order-1", "customer_id": "user-1",
        "amount": 2599, "currency": "USD", "card_token": "tok_ok"}
STANDARD = ["type", "title", "status", "detail", "correlation_id"]


@pytest.fixture
async def client(tmp_path, make_payments):
    app, _identity, service_token = service_app("payments", build, tmp_path)
    app.state.payments = await make_payments(FakeProvider(), timeout=0.05)
    async with http_client(app, headers=bearer(service_token)) as http:
        http.provider = app.state.payments.provider
        yield http


def problem(reply, status: int, kind: str, detail: str, **extra) -> dict:
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert list(body) == [*extra, *STANDARD]
    assert body["type"] == f"https://mercato.dev/problems/{kind}"
    assert (body["status"], body["detail"]) == (status, detail)
    assert {k: body[k] for k in extra} == extra
    return body


async def authorize(client, **changes):
    return await client.post("/internal/payments/authorize", json={**BODY, **changes})


async def test_a_declined_card_is_a_402_naming_the_payment_and_the_reason(client):
    client.provider.script.append("decline")
    body = problem(await authorize(client), 402, "payment-declined",
                   "the card was declined: card_declined",
                   payment_id="pay-1", reason="card_declined")
    assert body["title"] == "Payment Required"


async def test_a_provider_that_fails_is_a_503_to_try_again_in_a_second(client):
    client.provider.script.append("fail")
    reply = await authorize(client)
    problem(reply, 503, "provider-unavailable",
            "the card provider is unavailable: scripted failure")
    assert reply.headers["retry-after"] == "1"


async def test_a_provider_that_does_not_answer_is_a_504_without_retry_after(client):
    client.provider.script.append("hang")
    reply = await authorize(client)
    problem(reply, 504, "provider-timeout", "the card provider did not answer within 0.05s")
    assert "retry-after" not in reply.headers


async def test_another_request_under_the_same_payment_id_is_a_422(client):
    await authorize(client)
    problem(await authorize(client, amount=1), 422, "idempotency-mismatch",
            "payment pay-1 was first authorized for another order, customer, amount or "
            "currency")


async def test_a_voided_payment_is_already_cancelled_for_authorize_and_capture(client):
    await client.post("/internal/payments/pay-7/void")
    detail = "payment pay-7 was voided; it cannot be authorized or moved"
    problem(await authorize(client, payment_id="pay-7"), 409, "already-cancelled", detail,
            payment_id="pay-7")
    problem(await client.post("/internal/payments/pay-7/capture"), 409, "already-cancelled",
            detail, payment_id="pay-7")


async def test_an_illegal_move_names_the_payment_and_its_status(client):
    await authorize(client)
    await client.post("/internal/payments/pay-1/capture")
    problem(await client.post("/internal/payments/pay-1/void"), 409, "invalid-transition",
            "payment pay-1 is captured; void is not allowed from there",
            payment_id="pay-1", payment_status="captured")


async def test_an_unknown_payment_is_a_404(client):
    body = problem(await client.post("/internal/payments/nope/refund"), 404, "not-found",
                   "payment nope was not found")
    assert body["title"] == "Not Found"


async def test_a_provider_refusing_a_capture_is_a_502(client):
    await authorize(client)
    client.provider.script.append("decline")
    problem(await client.post("/internal/payments/pay-1/capture"), 502, "provider-refused",
            "the card provider refused to capture payment pay-1: card_declined")


def test_a_payment_moved_meanwhile_is_an_invalid_transition_without_a_status():
    answer = ERRORS.answer(ChangedMeanwhile("pay-1"))
    assert answer is not None
    assert (answer.status, answer.kind, answer.detail, answer.facts) == (
        409, "invalid-transition", "payment pay-1 changed meanwhile; try again",
        {"payment_id": "pay-1"})


def test_a_payment_that_cannot_exist_is_a_422_of_the_status_phrase():
    answer = ERRORS.answer(InvalidPayment("amount must be a positive integer in minor units"))
    assert answer is not None
    assert (answer.status, answer.kind, answer.facts, answer.retry_after) == (422, None, {}, None)

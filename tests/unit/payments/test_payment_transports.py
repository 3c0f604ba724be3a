"""Payments as the saga's participant, the same scenarios over HTTP and over gRPC: the
saga reads the same outcome from either transport's answer, compensations included (a
void that finds the payment captured becomes a refund; docs/internal-transport.md)."""

from __future__ import annotations

import pytest

from mercato.contracts.ids import payment_id
from mercato.services.orders.adapters.participants import SagaParticipants
from mercato.services.orders.domain.order import Line, Order
from mercato.services.payments.bootstrap import build
from mercato.services.payments.errors import ERRORS
from mercato.services.payments.grpc_api import served
from tests.support.service_http import service_app
from tests.support.transports import TRANSPORTS, commands_over
from tests.unit.payments.payment_doubles import FakeProvider


def order(order_id: str) -> Order:
    return Order.fold(Order.place(order_id, "c1", [Line("prod-1", 2, 100)], "USD", {},
                                  "2026-01-01T00:00:00Z"))


@pytest.fixture(params=TRANSPORTS)
async def rig(request, tmp_path, make_payments):
    provider = FakeProvider()
    payments = await make_payments(provider)
    app, _identity, _token = service_app("payments", build, tmp_path)
    app.state.payments = payments
    async with commands_over(request.param, "payments", app, served(payments),
                             ERRORS) as commands:
        yield SagaParticipants(commands), payments, provider


async def status_of(payments, order_id: str) -> str:
    return str((await payments.store.get(payment_id(order_id))).status)


async def test_a_payment_is_authorized_once_and_captured(rig):
    saga, payments, provider = rig
    assert (await saga.authorize_payment(order("o1"), "tok_ok")).ok
    assert (await saga.authorize_payment(order("o1"), "tok_ok")).ok  # the same call again
    assert (await saga.capture_payment(order("o1"))).ok
    assert provider.count("authorize") == 1
    assert await status_of(payments, "o1") == "captured"


async def test_a_declined_card_is_refused_for_good(rig):
    saga, _, provider = rig
    provider.script.append("decline")
    result = await saga.authorize_payment(order("o2"), "tok_decline")
    assert result.outcome == "rejected" and result.detail.startswith("402: ")


async def test_a_failing_provider_is_worth_another_attempt(rig):
    saga, _, provider = rig
    provider.script.append("fail")
    result = await saga.authorize_payment(order("o3"), "tok_ok")
    assert result.outcome == "transient" and result.detail.startswith("503: ")


async def test_a_void_before_authorizing_leaves_a_tombstone_that_refuses_it(rig):
    saga, _, provider = rig
    assert (await saga.void_payment(order("o4"))).ok
    late = await saga.authorize_payment(order("o4"), "tok_ok")
    assert late.outcome == "rejected" and late.detail.startswith("409: ")
    assert provider.count("authorize") == 0


async def test_a_void_that_finds_the_payment_captured_refunds_it(rig):
    saga, payments, _ = rig
    await saga.authorize_payment(order("o5"), "tok_ok")
    await saga.capture_payment(order("o5"))
    result = await saga.void_payment(order("o5"))
    assert (result.outcome, result.refunded) == ("ok", True)
    assert await status_of(payments, "o5") == "refunded"


async def test_a_refund_of_a_payment_never_captured_is_done_without_refunding(rig):
    saga, payments, provider = rig
    await saga.authorize_payment(order("o6"), "tok_ok")
    result = await saga.refund_payment(order("o6"))
    assert (result.outcome, result.refunded) == ("ok", False)
    assert provider.count("refund") == 0
    assert await status_of(payments, "o6") == "authorized"

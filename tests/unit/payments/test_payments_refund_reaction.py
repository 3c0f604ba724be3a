"""Payments' part in a choreographed refund of a delivered order (payments/refunds.py):
OrderRefundRequested refunds the capture once and publishes PaymentRefunded; an
orchestrated order's request is left to orders."""

from __future__ import annotations

import pytest

from mercato.contracts.envelope import Envelope
from mercato.contracts.ids import payment_id
from mercato.contracts.orders import OrderRefundRequested
from mercato.services.payments.domain import IllegalTransition, Status
from mercato.services.payments.refunds import RefundReactions
from tests.unit.payments.payment_doubles import FakeProvider, authorize_cmd

PID = payment_id("order-1")


def requested(checkout: str = "choreography") -> tuple[Envelope, OrderRefundRequested]:
    event = OrderRefundRequested(order_id="order-1", customer_id="user-1", total=2599,
                                 currency="USD", checkout=checkout)
    return Envelope(id="e-1", type=event.type_name(), source="orders",
                    occurred_at="2026-12-07T08:00:00Z", payload={}), event


async def captured(make_payments):
    provider = FakeProvider("approve")
    payments = await make_payments(provider)
    await payments.authorize(authorize_cmd(PID))
    await payments.capture(PID)
    return payments, provider


async def test_a_choreographed_refund_request_refunds_the_capture_once(make_payments):
    payments, provider = await captured(make_payments)
    reactions = RefundReactions(payments)
    await reactions.on_refund_requested(None, *requested())
    await reactions.on_refund_requested(None, *requested())  # redelivered
    assert (await payments.store.get(PID)).status is Status.REFUNDED
    assert provider.count("refund") == 1
    assert [e.type for e in payments.outbox.envelopes].count("PaymentRefunded") == 1


async def test_an_orchestrated_refund_request_is_left_to_orders(make_payments):
    payments, provider = await captured(make_payments)
    await RefundReactions(payments).on_refund_requested(None, *requested("orchestration"))
    assert (await payments.store.get(PID)).status is Status.CAPTURED
    assert provider.count("refund") == 0


async def test_a_request_for_a_payment_never_captured_is_retried_not_swallowed(make_payments):
    provider = FakeProvider("approve")
    payments = await make_payments(provider)
    await payments.authorize(authorize_cmd(PID))
    with pytest.raises(IllegalTransition):
        await RefundReactions(payments).on_refund_requested(None, *requested())

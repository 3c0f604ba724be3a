"""The payment's status rules, without any I/O."""

import pytest

from mercato.services.payments.domain import (
    Action,
    IllegalTransition,
    Payment,
    PaymentError,
    Status,
)


def payment(status: Status = Status.AUTHORIZED, **changes) -> Payment:
    fields = dict(id="pay-1", order_id="order-1", customer_id="user-1", amount=1000,
                  currency="USD", status=status, provider_reference="ref-1",
                  failure_reason=None, created_at="t0", updated_at="t0")
    fields.update(changes)
    return Payment(**fields)


@pytest.mark.parametrize(("start", "action", "end"), [
    (Status.AUTHORIZED, Action.CAPTURE, Status.CAPTURED),
    (Status.AUTHORIZED, Action.VOID, Status.VOIDED),
    (Status.CAPTURED, Action.REFUND, Status.REFUNDED),
    (Status.FAILED, Action.VOID, Status.VOIDED),
])
def test_a_legal_transition_moves_the_payment_and_stamps_the_time(start, action, end):
    after = payment(start).apply(action, "t1")
    assert after.status is end
    assert after.updated_at == "t1"
    assert after.created_at == "t0"


@pytest.mark.parametrize(("status", "action"), [
    (Status.CAPTURED, Action.CAPTURE),
    (Status.VOIDED, Action.VOID),
    (Status.REFUNDED, Action.REFUND),
])
def test_repeating_a_transition_that_already_happened_changes_nothing(status, action):
    before = payment(status)
    assert before.apply(action, "t1") is before


@pytest.mark.parametrize(("status", "action"), [
    (Status.CAPTURED, Action.VOID),
    (Status.REFUNDED, Action.VOID),
    (Status.AUTHORIZED, Action.REFUND),
    (Status.VOIDED, Action.REFUND),
    (Status.FAILED, Action.REFUND),
    (Status.VOIDED, Action.CAPTURE),
    (Status.FAILED, Action.CAPTURE),
    (Status.REFUNDED, Action.CAPTURE),
])
def test_an_illegal_transition_is_refused_and_names_the_current_status(status, action):
    with pytest.raises(IllegalTransition) as caught:
        payment(status).apply(action, "t1")
    assert caught.value.status is status
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("amount", [0, -5, True])
def test_a_payment_amount_must_be_a_positive_integer(amount):
    with pytest.raises(PaymentError, match="amount"):
        payment(amount=amount)


def test_a_payment_currency_must_be_an_upper_case_iso_code():
    with pytest.raises(PaymentError, match="currency"):
        payment(currency="usd")


def test_a_repeat_is_the_same_request_only_with_the_same_order_customer_amount_and_currency():
    p = payment()
    assert p.same_request("order-1", "user-1", 1000, "USD")
    assert not p.same_request("order-1", "user-1", 999, "USD")
    assert not p.same_request("order-2", "user-1", 1000, "USD")
    assert not p.same_request("order-1", "user-2", 1000, "USD")
    assert not p.same_request("order-1", "user-1", 1000, "EUR")


def test_the_public_shape_hides_the_provider_reference_and_customer():
    shown = payment().as_dict()
    assert shown == {"id": "pay-1", "order_id": "order-1", "status": "authorized",
                     "amount": 1000, "currency": "USD", "created_at": "t0", "updated_at": "t0"}

"""What orders makes of a choreographed checkout's events (domain/choreography.py)."""

from __future__ import annotations

import pytest

from mercato.services.orders.domain.choreography import call_off, heard, refunded
from mercato.services.orders.domain.order import Reason
from mercato.services.orders.domain.saga import CheckoutSaga, Phase, Step

HAPPY = ["StockReserved", "PaymentAuthorized", "ShipmentScheduled", "PaymentCaptured",
         "StockCommitted"]


def saga() -> CheckoutSaga:
    return CheckoutSaga("o1", "")


def test_the_happy_chain_records_every_step_and_only_the_commit_confirms():
    s = saga()
    verdicts = [heard(s, name, f"t{i}") for i, name in enumerate(HAPPY)]
    assert [v.confirm for v in verdicts] == [False, False, False, False, True]
    assert all(v.abort is None and not v.undone for v in verdicts)
    assert [(r.name, r.state, r.finished_at) for r in s.records.values()] == [
        ("reserve_stock", "done", "t0"), ("authorize_payment", "done", "t1"),
        ("schedule_shipment", "done", "t2"), ("capture_payment", "done", "t3"),
        ("confirm_order", "done", "t4")]
    assert s.step is Step.CONFIRM


def test_events_heard_out_of_order_record_the_same_steps():
    s = saga()
    for i, name in enumerate(reversed(HAPPY)):
        heard(s, name, f"t{i}")
    assert {r.name: r.state for r in s.records.values()} == {
        "reserve_stock": "done", "authorize_payment": "done", "schedule_shipment": "done",
        "capture_payment": "done", "confirm_order": "done"}
    assert s.step is Step.CONFIRM  # never goes back to an earlier step


def test_a_redelivered_event_keeps_the_first_time_it_was_heard():
    s = saga()
    heard(s, "StockReserved", "t1")
    heard(s, "StockReserved", "t9")
    assert s.records["reserve_stock"].finished_at == "t1"
    assert s.records["reserve_stock"].attempts == 1


@pytest.mark.parametrize(("event", "reason", "step", "why"), [
    ("StockReservationFailed", "out_of_stock", "reserve_stock", Reason.OUT_OF_STOCK),
    ("PaymentFailed", "card_declined", "authorize_payment", Reason.PAYMENT_DECLINED),
    ("PaymentFailed", "provider_unavailable", "authorize_payment",
     Reason.PAYMENT_UNAVAILABLE),
    ("ShipmentFailed", "not_deliverable", "schedule_shipment", Reason.SHIPPING_UNAVAILABLE),
])
def test_a_refusal_calls_the_checkout_off_with_the_orchestrators_reason(event, reason, step,
                                                                      why):
    s = saga()
    verdict = heard(s, event, "t1", reason=reason, detail="why not")
    assert verdict.abort is why and not verdict.confirm
    assert s.records[step].state == "rejected"
    assert s.records[step].detail == "why not"


def test_an_expiry_calls_it_off_and_a_plain_release_is_only_heard_through_the_undo():
    assert heard(saga(), "StockReleased", "t1", reason="expired").abort is Reason.EXPIRED
    s = saga()
    assert heard(s, "StockReleased", "t1", reason="released").abort is None
    assert s.records == {}


def test_the_order_is_undone_once_all_three_participants_say_so():
    s = saga()
    assert call_off(s, Reason.PAYMENT_DECLINED) and s.phase is Phase.COMPENSATING
    assert not call_off(s, Reason.CUSTOMER_REQUEST)  # called off once; the reason stays
    assert s.reason == "payment_declined"
    assert not heard(s, "InventoryCheckoutUndone", "t1", detail="released").undone
    assert not heard(s, "ShippingCheckoutUndone", "t2", detail="nothing").undone
    assert not heard(s, "ShippingCheckoutUndone", "t3", detail="nothing").undone  # again
    assert heard(s, "PaymentCheckoutUndone", "t4", detail="voided").undone
    assert not refunded(s)
    assert s.records["inventory_undone"].detail == "released"


def test_a_refund_among_the_undos_marks_the_cancellation_refunded():
    s = saga()
    s.phase = Phase.CONFIRMED
    assert call_off(s, Reason.CUSTOMER_REQUEST)  # a confirmed order can be called off
    heard(s, "PaymentCheckoutUndone", "t1", detail="refunded")
    assert refunded(s)
    s.phase = Phase.CANCELLED
    assert not call_off(s, Reason.EXPIRED)


def test_an_event_the_checkout_does_not_know_is_refused():
    with pytest.raises(ValueError, match="does not expect"):
        heard(saga(), "UserRegistered", "t1")

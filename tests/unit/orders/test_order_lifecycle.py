"""After its confirmation an order is shipped, then delivered (the aggregate's rules), and
its timeline (``progress``) records each milestone once, in the timeline's order."""

from __future__ import annotations

import pytest

from mercato.services.orders.domain.events import OrderProgressed, Recorded
from mercato.services.orders.domain.order import (
    AlreadyShipped,
    Line,
    Milestone,
    Order,
    OrderError,
    Reason,
    Status,
)

AT = "2026-03-01T09:00:0{}Z"


def placed() -> Order:
    return Order.fold(Order.place("o-1", "alice", [Line("p1", 1, 500)], "USD", {}, AT.format(0)))


def moved(order: Order, records: list[Recorded]) -> Order:
    for record in records:
        order.apply(record)
    return order


def confirmed() -> Order:
    order = placed()
    return moved(order, order.confirm(AT.format(1)))


def test_a_confirmed_order_is_shipped_then_delivered_and_its_history_says_when():
    order = confirmed()
    moved(order, order.ship(AT.format(2), "MRC0123456789"))
    assert order.status is Status.SHIPPED
    moved(order, order.deliver(AT.format(3)))
    assert order.status is Status.DELIVERED
    assert [(h["status"], h["at"]) for h in order.as_dict()["history"]] == [
        ("pending", AT.format(0)), ("confirmed", AT.format(1)), ("shipped", AT.format(2)),
        ("delivered", AT.format(3))]
    assert order.version == 4


def test_shipping_or_delivering_again_adds_no_event():
    order = confirmed()
    moved(order, order.ship(AT.format(2)))
    assert order.ship(AT.format(3)) == []
    moved(order, order.deliver(AT.format(4)))
    assert order.deliver(AT.format(5)) == [] and order.ship(AT.format(5)) == []


def test_only_a_confirmed_order_is_shipped_and_only_a_shipped_one_delivered():
    with pytest.raises(OrderError, match="a pending order cannot be shipped"):
        placed().ship(AT.format(1))
    with pytest.raises(OrderError, match="a confirmed order cannot be delivered"):
        confirmed().deliver(AT.format(2))
    cancelled = placed()
    moved(cancelled, cancelled.cancel(Reason.PAYMENT_DECLINED, AT.format(1)))
    with pytest.raises(OrderError, match="a cancelled order cannot be shipped"):
        cancelled.ship(AT.format(2))


@pytest.mark.parametrize("delivered", [False, True])
def test_a_shipped_or_delivered_order_cannot_be_cancelled(delivered: bool):
    order = confirmed()
    moved(order, order.ship(AT.format(2)))
    if delivered:
        moved(order, order.deliver(AT.format(3)))
    with pytest.raises(AlreadyShipped) as caught:
        order.cancel(Reason.CUSTOMER_REQUEST, AT.format(4))
    assert caught.value.status is order.status
    assert "can no longer be cancelled" in str(caught.value)


def test_a_confirmed_order_can_still_be_cancelled_and_is_refunded():
    order = confirmed()
    [cancel] = order.cancel(Reason.CUSTOMER_REQUEST, AT.format(2))
    assert cancel.event.refunded is True


def test_checkout_milestones_are_kept_once_and_shown_in_the_timelines_order():
    order = placed()
    # heard out of order, as a choreography's streams may deliver them
    moved(order, order.progressed(Milestone.SHIPMENT_SCHEDULED, AT.format(3)))
    moved(order, order.progressed(Milestone.RESERVED, AT.format(1)))
    assert order.progressed(Milestone.RESERVED, AT.format(4)) == []
    moved(order, order.progressed(Milestone.PAID, AT.format(2)))
    moved(order, order.confirm(AT.format(5)))
    moved(order, order.ship(AT.format(6)))
    moved(order, order.deliver(AT.format(7)))
    assert order.as_dict()["progress"] == [
        {"step": "placed", "at": AT.format(0)}, {"step": "reserved", "at": AT.format(1)},
        {"step": "paid", "at": AT.format(2)}, {"step": "shipment_scheduled", "at": AT.format(3)},
        {"step": "confirmed", "at": AT.format(5)}, {"step": "shipped", "at": AT.format(6)},
        {"step": "delivered", "at": AT.format(7)}]
    # milestones are no status changes: the history has none of them
    assert [h["status"] for h in order.as_dict()["history"]] == [
        "pending", "confirmed", "shipped", "delivered"]


def test_a_cancelled_order_records_no_further_milestone_and_others_are_refused():
    order = placed()
    moved(order, order.cancel(Reason.OUT_OF_STOCK, AT.format(1)))
    assert order.progressed(Milestone.PAID, AT.format(2)) == []
    with pytest.raises(OrderError, match="not a step of the checkout"):
        placed().progressed(Milestone.SHIPPED, AT.format(2))


def test_chained_decisions_get_consecutive_versions():
    order = placed()
    first = order.progressed(Milestone.RESERVED, AT.format(1))
    then = order.confirm(AT.format(2))
    chained = Order.chain(first, then)
    assert [(r.version, type(r.event).__name__) for r in chained] == [
        (2, "OrderProgressed"), (3, "OrderConfirmed")]
    assert moved(order, chained).status is Status.CONFIRMED
    assert isinstance(chained[0].event, OrderProgressed)

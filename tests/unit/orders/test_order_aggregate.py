"""The order aggregate as the fold of its events: commands decide and return events,
the fold rebuilds the state, and the stored shape of each event reads back the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mercato.services.orders.domain.events import (
    Line,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    OrderRefunded,
    Recorded,
    from_data,
    to_data,
)
from mercato.services.orders.domain.order import (
    AlreadyShipped,
    NotRefundable,
    Order,
    OrderError,
    Reason,
    Status,
)

ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}
MUG = Line("p1", 2, 1299, "Mug")
HAT = Line("p2", 1, 1800, "Hat")


def placed(*lines: Line, from_cart: bool = False) -> list[Recorded]:
    return Order.place("o-1", "alice", list(lines or (MUG,)), "USD", ADDRESS,
                       "2026-01-01T10:00:00Z", from_cart=from_cart)


def test_placing_returns_one_order_placed_event_at_version_one():
    assert placed(MUG, HAT, from_cart=True) == [Recorded(
        "o-1", 1, "2026-01-01T10:00:00Z",
        OrderPlaced(customer="alice", lines=(MUG, HAT), currency="USD", address=ADDRESS,
                    from_cart=True))]


def test_placing_merges_lines_of_the_same_product():
    [event] = placed(MUG, HAT, Line("p1", 3, 1299, "Mug"))
    assert event.event.lines == (Line("p1", 5, 1299, "Mug"), HAT)


@pytest.mark.parametrize("lines", [[], [Line("p1", 0, 100)], [Line("p1", -1, 100)]])
def test_placing_without_items_or_with_a_non_positive_quantity_is_refused(lines):
    with pytest.raises(OrderError):
        Order.place("o-1", "alice", lines, "USD", ADDRESS, "2026-01-01T10:00:00Z")


def test_the_fold_of_the_placement_is_a_pending_order():
    order = Order.fold(placed(MUG, HAT, from_cart=True))
    assert (order.id, order.customer_id, order.status, order.version) == (
        "o-1", "alice", Status.PENDING, 1)
    assert (order.total, order.currency, order.from_cart) == (2 * 1299 + 1800, "USD", True)
    assert order.lines == [MUG, HAT] and order.shipping_address == ADDRESS
    assert order.created_at == "2026-01-01T10:00:00Z"
    assert [(c.status, c.at) for c in order.history] == [
        (Status.PENDING, "2026-01-01T10:00:00Z")]


def test_no_events_fold_to_no_order():
    assert Order.fold([]) is None


def test_confirming_returns_the_next_event_and_changes_nothing_until_applied():
    order = Order.fold(placed())
    events = order.confirm("2026-01-01T10:00:05Z")
    assert events == [Recorded("o-1", 2, "2026-01-01T10:00:05Z", OrderConfirmed())]
    assert (order.status, order.version, len(order.history)) == (Status.PENDING, 1, 1)
    order.apply(events[0])
    assert (order.status, order.version) == (Status.CONFIRMED, 2)
    assert [c.status for c in order.history] == [Status.PENDING, Status.CONFIRMED]


def test_cancelling_a_pending_order_is_not_a_refund():
    order = Order.fold(placed())
    [event] = order.cancel(Reason.PAYMENT_DECLINED, "2026-01-01T10:00:05Z")
    assert event == Recorded("o-1", 2, "2026-01-01T10:00:05Z",
                             OrderCancelled("payment_declined", refunded=False))
    order.apply(event)
    assert (order.status, order.reason) == (Status.CANCELLED, "payment_declined")
    assert order.history[-1].reason == "payment_declined"


def test_cancelling_a_confirmed_order_is_a_refund():
    order = Order.fold(placed())
    order.apply(order.confirm("2026-01-01T10:00:05Z")[0])
    [event] = order.cancel(Reason.CUSTOMER_REQUEST, "2026-01-01T10:01:00Z")
    assert (event.version, event.event) == (3, OrderCancelled("customer_request", True))
    order.apply(event)
    assert [c.status.value for c in order.history] == ["pending", "confirmed", "cancelled"]


def test_a_cancelled_order_can_be_neither_confirmed_nor_cancelled_again():
    order = Order.fold(placed())
    order.apply(order.cancel(Reason.OUT_OF_STOCK, "2026-01-01T10:00:05Z")[0])
    with pytest.raises(OrderError):
        order.confirm("2026-01-01T10:00:06Z")
    with pytest.raises(OrderError):
        order.cancel(Reason.CUSTOMER_REQUEST, "2026-01-01T10:00:06Z")


def test_a_confirmed_order_cannot_be_confirmed_again():
    order = Order.fold(placed())
    order.apply(order.confirm("2026-01-01T10:00:05Z")[0])
    with pytest.raises(OrderError):
        order.confirm("2026-01-01T10:00:06Z")


def test_the_fold_refuses_a_stream_with_a_missing_repeated_or_foreign_event():
    [start] = placed()
    confirmed = Recorded("o-1", 2, "t2", OrderConfirmed())
    with pytest.raises(OrderError):  # does not start with the placement
        Order.fold([confirmed])
    with pytest.raises(OrderError):  # version 2 missing
        Order.fold([start, Recorded("o-1", 3, "t3", OrderConfirmed())])
    with pytest.raises(OrderError):  # version 2 twice
        Order.fold([start, confirmed, confirmed])
    with pytest.raises(OrderError):  # another order's event
        Order.fold([start, Recorded("o-2", 2, "t2", OrderConfirmed())])
    with pytest.raises(OrderError):  # placed twice
        Order.fold([start, Recorded("o-1", 2, "t2", start.event)])


@pytest.mark.parametrize("event", [
    OrderPlaced(customer="alice", lines=(MUG, HAT), currency="EUR", address=ADDRESS,
                from_cart=True),
    OrderConfirmed(),
    OrderCancelled("expired", refunded=True),
])
def test_every_event_reads_back_from_its_stored_data(event):
    assert from_data(type(event).__name__, to_data(event)) == event


def test_the_stored_data_of_a_placement_is_plain_json_types():
    [event] = placed(MUG)
    assert to_data(event.event) == {
        "customer": "alice", "currency": "USD", "address": ADDRESS, "from_cart": False,
        "lines": [{"product_id": "p1", "name": "Mug", "quantity": 2, "unit_price": 1299}]}


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match="OrderTeleported"):
        from_data("OrderTeleported", {})


def delivered_order() -> Order:
    order = Order.fold(placed())
    for decide in (lambda o: o.confirm("2026-01-01T10:01:00+00:00"),
                   lambda o: o.ship("2026-01-01T10:02:00+00:00"),
                   lambda o: o.deliver("2026-01-01T10:03:00+00:00")):
        for record in decide(order):
            order.apply(record)
    return order


def test_a_delivered_order_is_refunded_once_and_stays_refunded():
    order = delivered_order()
    order.check_refundable(datetime(2026, 1, 2, tzinfo=UTC), timedelta(days=14))
    with pytest.raises(NotRefundable, match="return window"):
        order.check_refundable(datetime(2026, 2, 1, tzinfo=UTC), timedelta(days=14))
    order.check_refundable(datetime(2026, 2, 1, tzinfo=UTC), None)  # an admin's
    [record] = order.refund("2026-01-02T00:00:00+00:00")
    assert record.event == OrderRefunded() and to_data(record.event) == {}
    assert from_data("OrderRefunded", {}) == OrderRefunded()
    order.apply(record)
    assert order.status is Status.REFUNDED
    assert order.as_dict()["progress"][-1] == {"step": "refunded",
                                               "at": "2026-01-02T00:00:00+00:00"}
    assert order.refund("2026-01-03T00:00:00+00:00") == []
    assert order.deliver("2026-01-03T00:00:00+00:00") == []  # the courier's news, late
    assert order.ship("2026-01-03T00:00:00+00:00") == []
    with pytest.raises(AlreadyShipped):
        order.check_cancellable()


def test_an_order_not_delivered_cannot_be_refunded():
    order = Order.fold(placed())
    with pytest.raises(NotRefundable, match="pending, not delivered"):
        order.check_refundable(datetime(2026, 1, 2, tzinfo=UTC), None)
    with pytest.raises(OrderError):
        order.refund("2026-01-02T00:00:00+00:00")

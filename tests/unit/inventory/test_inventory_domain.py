"""The inventory's domain rules, without a database."""

from __future__ import annotations

import pytest

from mercato.services.inventory.domain import (
    Action,
    AlreadyCancelled,
    InvalidRequest,
    Line,
    OutOfStock,
    RequestMismatch,
    Reservation,
    ReservationConflict,
    Status,
    Stock,
    StockInvariantBroken,
    WouldGoNegative,
    check_adjustment,
    commit_action,
    fingerprint,
    merge_lines,
    release_action,
    return_action,
)


def reservation(status: Status, **kw) -> Reservation:
    fields = dict(reservation_id="r1", order_id="o1", status=status,
                  lines=(Line("p1", 2), Line("p2", 1)), created_at="t0", expires_at="t1")
    fields.update(kw)
    return Reservation(**fields)


def test_stock_that_does_not_add_up_is_refused():
    with pytest.raises(StockInvariantBroken):
        Stock("p1", on_hand=5, available=3, reserved=1, sold=0)


def test_negative_stock_is_refused_even_when_it_adds_up():
    with pytest.raises(StockInvariantBroken):
        Stock("p1", on_hand=0, available=-1, reserved=1, sold=0)


def test_adjustment_moves_on_hand_and_available_together():
    stock = Stock("p1", on_hand=10, available=4, reserved=3, sold=3).adjusted(-4)
    assert (stock.on_hand, stock.available, stock.reserved, stock.sold) == (6, 0, 3, 3)


def test_adjustment_below_what_is_reserved_or_sold_names_product_and_amounts():
    with pytest.raises(WouldGoNegative) as caught:
        Stock("p1", on_hand=10, available=4, reserved=3, sold=3).adjusted(-5)
    assert caught.value.available == 4 and caught.value.delta == -5
    assert "p1" in str(caught.value) and "-1" in str(caught.value)


@pytest.mark.parametrize(("delta", "reason"), [(0, "recount"), (3, "   "), (-1, "")])
def test_zero_delta_or_blank_reason_is_invalid(delta, reason):
    with pytest.raises(InvalidRequest):
        check_adjustment(delta, reason)


def test_fingerprint_ignores_key_order_but_not_values():
    assert fingerprint({"a": 1, "b": "x"}) == fingerprint({"b": "x", "a": 1})
    assert fingerprint({"a": 1, "b": "x"}) != fingerprint({"a": 2, "b": "x"})


def test_repeated_products_in_a_reservation_are_summed_in_first_seen_order():
    lines = merge_lines([("p2", 1), ("p1", 2), ("p2", 3)])
    assert lines == (Line("p2", 4), Line("p1", 2))


@pytest.mark.parametrize("items", [[], [("p1", 0)], [("p1", -2)]])
def test_a_reservation_needs_positive_quantities(items):
    with pytest.raises(InvalidRequest):
        merge_lines(items)


def test_replaying_a_reservation_returns_the_first_result_even_after_commit():
    r = reservation(Status.COMMITTED)
    result = r.replay("o1", (Line("p2", 1), Line("p1", 2)))
    assert result["status"] == "reserved"
    assert result["items"] == [{"product_id": "p1", "quantity": 2},
                               {"product_id": "p2", "quantity": 1}]


def test_replaying_a_released_reservation_is_already_cancelled():
    with pytest.raises(AlreadyCancelled):
        reservation(Status.RELEASED).replay("o1", (Line("p1", 2), Line("p2", 1)))


def test_replaying_a_rejected_reservation_gives_the_same_refusal():
    r = reservation(Status.REJECTED, refusal={"detail": "not enough", "product_ids": ["p2"]})
    with pytest.raises(OutOfStock) as caught:
        r.replay("o1", (Line("p1", 2), Line("p2", 1)))
    assert caught.value.product_ids == ["p2"] and str(caught.value) == "not enough"


@pytest.mark.parametrize(("order_id", "lines"), [
    ("o2", (Line("p1", 2), Line("p2", 1))),
    ("o1", (Line("p1", 3), Line("p2", 1))),
    ("o1", (Line("p1", 2),)),
])
def test_reusing_a_reservation_id_for_another_request_is_a_mismatch(order_id, lines):
    with pytest.raises(RequestMismatch):
        reservation(Status.RESERVED).replay(order_id, lines)


@pytest.mark.parametrize(("status", "action"), [
    (Status.RESERVED, Action.MOVE_STOCK), (Status.COMMITTED, Action.NOTHING),
    (Status.RETURNED, Action.NOTHING),
])
def test_commit_moves_stock_once(status, action):
    assert commit_action(reservation(status)) == action


@pytest.mark.parametrize(("status", "kind"), [
    (Status.RELEASED, "already-cancelled"), (Status.REJECTED, "not-reserved"),
])
def test_commit_of_a_released_or_refused_reservation_conflicts(status, kind):
    with pytest.raises(ReservationConflict) as caught:
        commit_action(reservation(status))
    assert caught.value.kind == kind


@pytest.mark.parametrize(("status", "action"), [
    (Status.RESERVED, Action.MOVE_STOCK), (Status.RELEASED, Action.NOTHING),
    (Status.REJECTED, Action.MARK),
])
def test_release_returns_stock_only_from_a_held_reservation(status, action):
    assert release_action(reservation(status)) == action


@pytest.mark.parametrize("status", [Status.COMMITTED, Status.RETURNED])
def test_release_of_a_committed_reservation_conflicts(status):
    with pytest.raises(ReservationConflict) as caught:
        release_action(reservation(status))
    assert caught.value.kind == "already-committed"
    assert str(caught.value).startswith("reservation r1 was committed")


@pytest.mark.parametrize(("status", "action"), [
    (Status.COMMITTED, Action.MOVE_STOCK), (Status.RETURNED, Action.NOTHING),
])
def test_return_brings_back_sold_goods_once(status, action):
    assert return_action(reservation(status)) == action


@pytest.mark.parametrize("status", [Status.RESERVED, Status.RELEASED, Status.REJECTED])
def test_only_committed_goods_can_be_returned(status):
    with pytest.raises(ReservationConflict) as caught:
        return_action(reservation(status))
    assert caught.value.kind == "not-committed"


def test_replaying_a_returned_reservation_still_returns_the_first_result():
    result = reservation(Status.RETURNED).replay("o1", (Line("p1", 2), Line("p2", 1)))
    assert result["status"] == "reserved"

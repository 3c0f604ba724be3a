"""The loyalty rules: points per whole currency unit, one credit and one reversal per
order, and a balance that is the entries' sum and never negative."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.services.loyalty.domain import (
    Entry,
    Kind,
    LoyaltyError,
    balance,
    credit,
    points_for,
    reversal,
)

AT = "2026-12-07T08:00:00+00:00"


@pytest.mark.parametrize(("total", "currency", "points"), [
    (1999, "USD", 19), (100, "EUR", 1), (99, "USD", 0), (0, "USD", 0),
    (1999, "JPY", 1999), (1999, "jpy", 1999), (12345, "KWD", 12),
])
def test_one_point_per_whole_currency_unit_rounded_down(total, currency, points):
    assert points_for(total, currency) == points


def test_a_negative_total_earns_nothing_but_an_error():
    with pytest.raises(LoyaltyError, match="negative"):
        points_for(-1, "USD")


def test_a_delivered_order_is_credited_once():
    first = credit("ada", "o-1", "e-1", 1999, "USD", AT, [])
    assert first == Entry("ada", "o-1", "e-1", Kind.CREDIT, 19, AT)
    assert credit("ada", "o-1", "e-2", 1999, "USD", AT, [first]) is None


def test_a_refund_reverses_the_credit_once():
    earned = credit("ada", "o-1", "e-1", 1999, "USD", AT, [])
    back = reversal("ada", "o-1", "e-2", AT, [earned], 19)
    assert back == Entry("ada", "o-1", "e-2", Kind.REVERSAL, -19, AT)
    assert reversal("ada", "o-1", "e-3", AT, [earned, back], 0) is None


def test_a_refund_heard_before_its_credit_is_final():
    back = reversal("ada", "o-1", "e-2", AT, [], 50)
    assert back.points == 0 and back.kind is Kind.REVERSAL
    assert "nothing was credited" in back.note
    assert credit("ada", "o-1", "e-1", 1999, "USD", AT, [back]) is None


def test_a_reversal_never_takes_the_balance_below_zero_and_says_so():
    earned = Entry("ada", "o-1", "e-1", Kind.CREDIT, 19, AT)
    back = reversal("ada", "o-1", "e-2", AT, [earned], 7)
    assert back.points == -7
    assert back.note == "19 earned, only 7 left to reverse"


# An event: (delivered or refunded, order number, total in cents, event id)
EVENTS = st.lists(st.tuples(st.sampled_from(["delivered", "refunded"]),
                            st.integers(0, 5), st.integers(0, 100_000), st.integers(0, 3)),
                  max_size=30)


def apply(ledger: list[Entry], events) -> list[Entry]:
    for what, order, total, event in events:
        oid, eid = f"o-{order}", f"e-{event}"
        mine = [e for e in ledger if e.order_id == oid]
        entry = (credit("ada", oid, eid, total, "USD", AT, mine) if what == "delivered"
                 else reversal("ada", oid, eid, AT, mine, balance(ledger)))
        if entry is not None:
            ledger = [*ledger, entry]
    return ledger


@given(EVENTS)
def test_the_balance_is_the_entries_sum_and_never_negative(events):
    ledger: list[Entry] = []
    for event in events:
        ledger = apply(ledger, [event])
        assert balance(ledger) == sum(e.points for e in ledger) >= 0


@given(EVENTS)
def test_replaying_any_sequence_of_events_changes_nothing(events):
    once = apply([], events)
    assert apply(once, events) == once
    assert apply([], events + events) == once


@given(EVENTS)
def test_an_order_has_at_most_one_credit_and_one_reversal(events):
    kinds = [(e.order_id, e.kind) for e in apply([], events)]
    assert len(kinds) == len(set(kinds))

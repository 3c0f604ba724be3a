"""The logic of F7 and F10 that needs no platform: which consumers take a re-sent event
and in what order copies go (F7), and how a last-unit race is judged (F10)."""

from __future__ import annotations

import random

from mercato.chaos.faults.messages import (
    Captured,
    consumed,
    copies,
    duplicates,
    is_original,
    matches,
    reversed_batch,
    takers,
)
from mercato.chaos.faults.races import Race, judge


def event(seq: int, type_name: str = "OrderPlaced", source: str = "orders") -> Captured:
    return Captured(source, seq, f"mercato.{source}.{type_name}", f"{{{seq}}}".encode())


def test_subjects_match_as_nats_matches_them():
    assert matches("mercato.orders.OrderPlaced", "mercato.orders.OrderPlaced")
    assert not matches("mercato.orders.OrderPlaced", "mercato.orders.OrderCancelled")
    assert matches("mercato.*.OrderPlaced", "mercato.orders.OrderPlaced")
    assert matches("mercato.orders.>", "mercato.orders.replay.x")
    assert not matches("mercato.orders.>", "mercato.orders")
    assert not matches("mercato.orders", "mercato.orders.OrderPlaced")


def test_an_event_goes_to_every_durable_that_takes_it_and_no_other():
    filters = {"inventory__placed": ["mercato.orders.OrderPlaced",
                                     "mercato.orders.replay.inventory__placed"],
               "payments__placed": ["mercato.orders.OrderPlaced"],
               "shipping__cancelled": ["mercato.orders.OrderCancelled"]}
    assert takers("mercato.orders.OrderPlaced", filters) == ["inventory__placed",
                                                             "payments__placed"]
    planned = copies([event(1), event(2, "OrderCancelled"), event(3, source="cart")],
                     {"orders": filters})
    assert [(c.event.seq, c.durable) for c in planned] == [
        (1, "inventory__placed"), (1, "payments__placed"), (2, "shipping__cancelled")]


def test_copies_already_re_sent_are_never_picked_again():
    replayed = Captured("orders", 9, "mercato.orders.replay.inventory__placed", b"{}")
    assert not is_original(replayed) and is_original(event(1))
    assert duplicates([replayed], random.Random(1), 5) == []
    assert reversed_batch([event(1), replayed], 3) == [event(1)]


def test_duplicates_are_drawn_from_the_seed_in_stream_order():
    events = [event(n) for n in range(1, 50)]
    picked = duplicates(events, random.Random(7), 6)
    assert picked == duplicates(events, random.Random(7), 6)
    assert len(set(picked)) == 6 and [e.seq for e in picked] == sorted(e.seq for e in picked)
    assert len(duplicates(events[:3], random.Random(7), 6)) == 3


def test_the_reordered_batch_is_the_newest_events_newest_first():
    events = [event(n) for n in (5, 1, 4, 2, 3)]
    assert [e.seq for e in reversed_batch(events, 3)] == [5, 4, 3]


STOCK = {"on_hand": 1, "available": 0, "reserved": 0, "sold": 1}


def race(*orders: str, stock: int = 1) -> Race:
    return Race("p1", stock, dict.fromkeys(orders, "token"))


def test_one_confirmed_and_the_rest_cancelled_out_of_stock_is_a_fair_race():
    ends = {"a": {"status": "confirmed"}, "b": {"status": "cancelled", "reason": "out_of_stock"},
            "c": {"status": "shipped"}}
    assert judge(race("a", "b"), ends, STOCK) == []
    assert judge(race("c", "b"), ends, STOCK) == []  # shipped counts as confirmed


def test_an_oversold_unit_is_found():
    ends = {"a": {"status": "confirmed"}, "b": {"status": "confirmed"}}
    bad = judge(race("a", "b"), ends, STOCK | {"sold": 2})
    assert any("2 orders confirmed for 1 unit" in b for b in bad)


def test_a_pending_order_or_a_cancellation_without_reason_is_found():
    ends = {"a": {"status": "pending"}, "b": {"status": "cancelled"}}
    bad = judge(race("a", "b"), ends, {"on_hand": 1, "available": 1, "reserved": 0, "sold": 0})
    assert len(bad) == 2 and "is pending" in bad[0] and "reason None" in bad[1]


def test_stock_that_disagrees_with_the_orders_is_found():
    ends = {"a": {"status": "cancelled", "reason": "out_of_stock"}}
    held = {"on_hand": 1, "available": 0, "reserved": 1, "sold": 0}  # a unit left held
    assert judge(race("a"), ends, held) == [
        "stock of p1 is " + str(held) + ", expected "
        "{'on_hand': 1, 'sold': 0, 'reserved': 0, 'available': 1}"]


def test_only_events_some_consumer_takes_are_worth_re_sending():
    filters = {"payments__placed": ["mercato.orders.OrderPlaced"]}
    events = [event(1), event(2, "OrderCancelled"), event(3)]
    assert [e.seq for e in consumed(events, filters)] == [1, 3]

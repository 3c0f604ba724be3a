"""The invariants of `mercato verify`, as pure functions over the services' facts: each
holds on a settled platform and fails, naming what violates it, when broken."""

from __future__ import annotations

import copy

import pytest

from mercato.cli.invariants import (
    PUBLISHERS,
    Facts,
    charged_once,
    check_all,
    delivered_were_shipped,
    events_consumed,
    money_conserved,
    nothing_stuck,
    points_credited_once,
    sold_matches,
    stock_conserved,
)


def settled() -> Facts:
    """One confirmed order (A), one declined (B), one cancelled after confirmation (C)."""
    outbox = {"pending": 0, "first": []}
    services = {s: {"outbox": dict(outbox)} for s in PUBLISHERS}
    services["inventory"].update(
        products=[{"product_id": "P1", "on_hand": 10, "available": 7, "reserved": 0,
                   "sold": 3},
                  {"product_id": "P2", "on_hand": 0, "available": 0, "reserved": 0,
                   "sold": 0}],
        reservations=[
            {"reservation_id": "rA", "order_id": "A", "status": "committed",
             "items": [{"product_id": "P1", "quantity": 3}]},
            {"reservation_id": "rB", "order_id": "B", "status": "released",
             "items": [{"product_id": "P1", "quantity": 1}]},
            {"reservation_id": "rC", "order_id": "C", "status": "returned",
             "items": [{"product_id": "P1", "quantity": 2}]},
        ])
    services["payments"].update(payments=[
        {"payment_id": "pA", "order_id": "A", "status": "captured", "amount": 3000,
         "currency": "USD"},
        {"payment_id": "pB", "order_id": "B", "status": "failed", "amount": 1000,
         "currency": "USD"},
        {"payment_id": "pC", "order_id": "C", "status": "refunded", "amount": 2000,
         "currency": "USD"},
    ])
    services["shipping"].update(shipments=[
        {"shipment_id": "sA", "order_id": "A", "status": "scheduled"},
        {"shipment_id": "sC", "order_id": "C", "status": "cancelled"},
    ])
    services["orders"].update(
        orders=[
            {"order_id": "A", "status": "confirmed", "total": 3000, "currency": "USD",
             "reason": None, "saga": "confirmed"},
            {"order_id": "B", "status": "cancelled", "total": 1000, "currency": "USD",
             "reason": "payment_declined", "saga": "cancelled"},
            {"order_id": "C", "status": "cancelled", "total": 2000, "currency": "USD",
             "reason": "customer_request", "saga": "cancelled"},
        ],
        pending_orders=0, unfinished_sagas=0, unfinished_saga_ids=[])
    services["loyalty"].update(entries=[])  # no order delivered
    consumers = [{"stream": "MERCATO_ORDERS", "consumer": "cart__order_confirmed",
                  "num_pending": 0, "num_ack_pending": 0}]
    return Facts(services=services, consumers=consumers)


def inventory(f: Facts) -> dict:
    return f.services["inventory"]


def product(f: Facts, pid: str) -> dict:
    return next(p for p in inventory(f)["products"] if p["product_id"] == pid)


def add_order(f: Facts, order_id: str, status: str, total: int, currency: str = "USD"
              ) -> None:
    f.services["orders"]["orders"].append(
        {"order_id": order_id, "status": status, "total": total, "currency": currency,
         "reason": None, "saga": "forward" if status == "pending" else status})


def add_payment(f: Facts, payment_id: str, order_id: str, status: str, amount: int,
                currency: str = "USD") -> None:
    f.services["payments"]["payments"].append(
        {"payment_id": payment_id, "order_id": order_id, "status": status,
         "amount": amount, "currency": currency})


def test_a_settled_platform_passes_all_eight_invariants_in_order():
    checks = check_all(settled())
    assert [(c.number, c.name, c.ok) for c in checks] == [
        (1, "stock conserved", True), (2, "sold matches confirmed orders", True),
        (3, "money conserved", True), (4, "no order charged twice", True),
        (5, "nothing stuck", True), (6, "every event consumed", True),
        (7, "delivered orders were confirmed and shipped", True),
        (8, "points credited once", True)]
    assert all(c.violations == [] and c.count == 0 for c in checks)


# -- 1. stock conserved ---------------------------------------------------------------
def test_stock_figures_add_up_over_every_product():
    check = stock_conserved(settled())
    assert check.ok
    assert check.figures.startswith(
        "2 products: on_hand 10 = available 7 + reserved 0 + sold 3")


def test_a_negative_column_violates_stock_conservation_even_when_the_sum_holds():
    f = settled()
    product(f, "P2").update(available=-1, reserved=1)  # 0 = -1 + 1 + 0
    check = stock_conserved(f)
    assert not check.ok
    assert check.violations == [
        "product P2: on_hand 0, available -1, reserved 1, sold 0"]


def test_on_hand_that_is_not_the_sum_violates_stock_conservation():
    f = settled()
    product(f, "P1")["on_hand"] = 11
    check = stock_conserved(f)
    assert not check.ok
    assert check.violations == ["product P1: on_hand 11, available 7, reserved 0, sold 3"]


# -- 2. sold matches ------------------------------------------------------------------
def test_sold_counts_only_committed_reservations_of_confirmed_orders():
    check = sold_matches(settled())
    assert check.ok
    assert check.figures == ("sold 3 units = 3 in the committed reservations of 1 "
                             "confirmed orders")


def test_more_sold_than_confirmed_orders_bought_is_a_violation():
    f = settled()
    product(f, "P1").update(sold=4, available=6)
    check = sold_matches(f)
    assert not check.ok
    assert check.violations == ["product P1: sold 4, confirmed orders 3"]


def test_a_committed_reservation_of_a_cancelled_order_does_not_count_as_sold():
    f = settled()
    inventory(f)["reservations"][2]["status"] = "committed"  # C's goods never came back
    product(f, "P1").update(sold=5, available=5)
    check = sold_matches(f)
    assert not check.ok
    assert check.violations == ["product P1: sold 5, confirmed orders 3"]


def test_a_confirmed_order_without_a_committed_reservation_is_a_violation():
    f = settled()
    add_order(f, "D", "confirmed", 500)
    add_payment(f, "pD", "D", "captured", 500)
    check = sold_matches(f)
    assert not check.ok
    assert check.violations == ["order D: confirmed without a committed reservation"]


# -- 3. money conserved ---------------------------------------------------------------
def test_money_figures_are_per_currency():
    f = settled()
    add_order(f, "E", "confirmed", 900, "EUR")
    add_payment(f, "pE", "E", "captured", 900, "EUR")
    check = money_conserved(f)
    assert check.ok
    assert check.figures == ("EUR: captured 900 - refunded 0 = 900, confirmed orders 900; "
                             "USD: captured 5000 - refunded 2000 = 3000, confirmed orders "
                             "3000")


def test_a_capture_for_a_cancelled_order_breaks_money_conservation():
    f = settled()
    f.services["payments"]["payments"][1]["status"] = "captured"  # B was declined
    check = money_conserved(f)
    assert not check.ok
    assert check.violations == [
        "USD: captured 6000 - refunded 2000 = 4000, confirmed orders 3000",
        "order B (cancelled): captured - refunded 1000, expected 0"]


def test_a_confirmed_order_captured_for_less_than_its_total_is_named_even_if_sums_agree():
    f = settled()
    f.services["payments"]["payments"][0]["amount"] = 2000  # A owes 3000
    add_payment(f, "pX", "X", "captured", 1000)  # for an order orders never heard of
    check = money_conserved(f)
    assert not check.ok
    assert check.violations == [
        "order A (confirmed): captured - refunded 2000, expected 3000",
        "order X (unknown to orders): captured - refunded 1000, expected 0"]


# -- 4. no order charged twice ---------------------------------------------------------
def test_a_doubled_capture_is_an_order_charged_twice():
    f = settled()
    add_payment(f, "pA2", "A", "captured", 3000)
    check = charged_once(f)
    assert not check.ok
    assert check.violations == ["order A: 2 captured payments"]
    assert check.figures == "2 orders charged, 1 of them more than once"
    assert not money_conserved(f).ok  # and the money no longer adds up either


def test_a_refund_counts_as_a_charge_when_the_order_is_charged_again():
    f = settled()
    assert charged_once(f).ok
    add_payment(f, "pC2", "C", "captured", 2000)
    assert charged_once(f).violations == ["order C: 2 captured payments"]


# -- 5. nothing stuck -----------------------------------------------------------------
def test_a_pending_order_and_its_unfinished_saga_are_stuck():
    f = settled()
    add_order(f, "D", "pending", 500)
    f.services["orders"]["unfinished_saga_ids"] = ["D"]
    check = nothing_stuck(f)
    assert not check.ok
    assert check.violations == ["order D: pending", "saga of order D: unfinished"]
    assert check.figures.startswith("1 pending orders, 1 unfinished sagas")


def test_stock_still_reserved_for_a_cancelled_order_is_stuck():
    f = settled()
    inventory(f)["reservations"][1]["status"] = "reserved"  # B's release never happened
    check = nothing_stuck(f)
    assert not check.ok
    assert check.violations == ["reservation rB: still reserved, order B cancelled"]


def test_a_reservation_held_for_a_pending_order_is_not_stuck():
    f = settled()
    add_order(f, "D", "pending", 500)
    inventory(f)["reservations"].append({"reservation_id": "rD", "order_id": "D",
                                         "status": "reserved", "items": []})
    add_payment(f, "pD", "D", "authorized", 500)
    assert nothing_stuck(f).violations == ["order D: pending"]


def test_an_authorized_payment_of_a_finished_or_unknown_order_is_stuck():
    f = settled()
    add_payment(f, "pA2", "A", "authorized", 3000)
    add_payment(f, "pZ", "Z", "authorized", 10)
    check = nothing_stuck(f)
    assert not check.ok
    assert check.violations == [
        "payment pA2: still authorized, order A confirmed",
        "payment pZ: still authorized, order Z unknown to orders"]


def test_a_shipment_still_scheduled_for_a_cancelled_order_is_stuck():
    f = settled()
    f.services["shipping"]["shipments"][1]["status"] = "scheduled"
    check = nothing_stuck(f)
    assert not check.ok
    assert check.violations == ["shipment sC: still scheduled, order C cancelled"]


def test_only_the_first_five_violations_are_named_but_all_are_counted():
    f = settled()
    for n in range(8):
        add_order(f, f"D{n}", "pending", 100)
    check = nothing_stuck(f)
    assert check.count == 8
    assert check.violations == [f"order D{n}: pending" for n in range(5)]


# -- 6. every event consumed ----------------------------------------------------------
def test_an_unpublished_outbox_row_is_an_event_not_consumed():
    f = settled()
    f.services["payments"]["outbox"] = {
        "pending": 2, "first": [{"id": "ev1", "subject": "mercato.payments.PaymentCaptured"},
                                {"id": "ev2", "subject": "mercato.payments.PaymentRefunded"}]}
    check = events_consumed(f)
    assert not check.ok
    assert check.violations == [
        "payments outbox: 2 unpublished (oldest: ev1 mercato.payments.PaymentCaptured, "
        "ev2 mercato.payments.PaymentRefunded)"]
    assert check.figures.startswith("2 unpublished outbox rows in 7 publishers")


@pytest.mark.parametrize(("pending", "unacked", "said"), [
    (3, 0, "3 pending, 0 unacknowledged"),
    (0, 1, "0 pending, 1 unacknowledged"),
])
def test_a_consumer_behind_its_stream_is_an_event_not_consumed(pending, unacked, said):
    f = settled()
    f.consumers.append({"stream": "MERCATO_PAYMENTS", "consumer": "notifications__refunds",
                        "num_pending": pending, "num_ack_pending": unacked})
    check = events_consumed(f)
    assert not check.ok
    assert check.violations == [f"consumer notifications__refunds on MERCATO_PAYMENTS: {said}"]


def test_dead_letters_are_events_not_consumed():
    f = settled()
    f.dead_letters = 2
    check = events_consumed(f)
    assert not check.ok
    assert check.violations == ["2 dead letters (mercato dlq list)"]


def test_unknown_consumer_positions_fail_the_check_with_the_broker_error():
    f = settled()
    f.consumers, f.broker_error = None, "TimeoutError"
    check = events_consumed(f)
    assert not check.ok
    assert check.violations == ["consumers unknown: TimeoutError"]


def test_a_shipment_the_courier_still_moves_for_a_cancelled_order_is_stuck():
    f = settled()
    f.services["shipping"]["shipments"][1]["status"] = "labelled"
    assert nothing_stuck(f).violations == ["shipment sC: still labelled, order C cancelled"]


# -- 7. delivered orders were confirmed and shipped -----------------------------------
def delivered(f: Facts, status: str = "delivered", shipment: str = "delivered") -> Facts:
    """Order A has gone on to ``status``; its shipment is ``shipment``. Delivered, loyalty
    credited it; refunded, its payment was given back and the credit reversed."""
    order = f.services["orders"]["orders"][0]
    order.update(status=status, history=[
        "pending", "confirmed", "shipped", "delivered", "refunded"][
        :{"shipped": 3, "delivered": 4, "refunded": 5}[status]])
    f.services["shipping"]["shipments"][0]["status"] = shipment
    if status in ("delivered", "refunded"):
        f.services["loyalty"]["entries"].append({"order_id": "A", "kind": "credit",
                                                 "points": 30})
    if status == "refunded":
        f.services["loyalty"]["entries"].append({"order_id": "A", "kind": "reversal",
                                                 "points": -30})
        f.services["payments"]["payments"][0]["status"] = "refunded"
    return f


def test_shipped_and_delivered_orders_count_as_sold_and_paid_and_pass_every_check():
    for status, shipment in (("shipped", "in_transit"), ("delivered", "delivered")):
        checks = check_all(delivered(settled(), status, shipment))
        assert [c.number for c in checks if not c.ok] == []
    check = delivered_were_shipped(delivered(settled()))
    assert check.figures == ("1 delivered and 0 shipped orders, each confirmed then shipped; "
                             "2 cancelled orders, none shipped")


def test_a_delivered_order_that_was_never_shipped_is_named():
    f = delivered(settled())
    f.services["orders"]["orders"][0]["history"] = ["pending", "confirmed", "delivered"]
    check = delivered_were_shipped(f)
    assert check.violations == ["order A: delivered after pending -> confirmed -> delivered"]


def test_a_delivered_order_whose_shipment_is_not_delivered_is_named():
    check = delivered_were_shipped(delivered(settled(), shipment="in_transit"))
    assert check.violations == ["order A: delivered, its shipment in_transit"]


def test_a_cancelled_order_whose_parcel_went_out_is_named():
    f = settled()
    f.services["shipping"]["shipments"][1]["status"] = "delivered"
    check = delivered_were_shipped(f)
    assert not check.ok
    assert check.violations[0].startswith("order C: cancelled, yet shipped")


def test_a_confirmed_orders_parcel_moving_before_orders_heard_of_it_is_named():
    f = settled()
    f.services["shipping"]["shipments"][0]["status"] = "in_transit"
    assert delivered_were_shipped(f).violations == [
        "order A: confirmed, its shipment already in_transit"]


def test_a_confirmed_orders_labelled_parcel_waits_for_the_courier_and_passes():
    f = settled()
    f.services["shipping"]["shipments"][0]["status"] = "labelled"
    assert delivered_were_shipped(f).violations == []


def test_a_pending_orders_labelled_parcel_is_named():
    f = settled()
    f.services["orders"]["orders"][0].update(status="pending", history=["pending"])
    f.services["shipping"]["shipments"][0]["status"] = "labelled"
    assert delivered_were_shipped(f).violations == [
        "order A: pending, its shipment already labelled"]


# -- facts that could not be read -----------------------------------------------------
def test_a_service_without_facts_fails_only_the_invariants_that_need_it():
    f = settled()
    del f.services["shipping"]
    f.missing["shipping"] = "no ready instance is registered"
    checks = {c.number: c for c in check_all(f)}
    assert [n for n, c in checks.items() if not c.ok] == [5, 6, 7]
    del f.services["loyalty"]
    assert [c.number for c in check_all(f) if not c.ok] == [5, 6, 7, 8]
    assert checks[5].figures == "no facts from shipping"
    assert checks[5].violations == ["shipping: no ready instance is registered"]


def test_the_checks_do_not_change_the_facts():
    f = settled()
    before = copy.deepcopy(f)
    check_all(f)
    assert f == before


def test_a_refunded_order_counts_as_sold_not_paid_and_passes_every_check():
    checks = check_all(delivered(settled(), "refunded"))
    assert [c.number for c in checks if not c.ok] == []


# -- 8. points credited once -----------------------------------------------------------
def test_delivered_and_refunded_orders_figures_count_them():
    assert points_credited_once(delivered(settled())).figures == (
        "1 delivered orders credited once, 0 refunded ones reversed")
    assert points_credited_once(delivered(settled(), "refunded")).ok


def test_a_delivered_order_without_its_credit_is_named():
    f = delivered(settled())
    f.services["loyalty"]["entries"] = []
    assert points_credited_once(f).violations == [
        "order A: delivered, 0 credits and 0 reversals (one credit expected)"]


def test_a_refunded_order_whose_points_were_kept_is_named():
    f = delivered(settled(), "refunded")
    f.services["loyalty"]["entries"].pop()
    assert points_credited_once(f).violations == [
        "order A: refunded, 1 credits and 0 reversals (one of each expected)"]


def test_points_for_an_order_never_delivered_or_unknown_are_named():
    f = settled()
    f.services["loyalty"]["entries"] += [{"order_id": "B", "kind": "credit", "points": 10},
                                         {"order_id": "Z", "kind": "credit", "points": 1}]
    assert points_credited_once(f).violations == [
        "order B: cancelled, yet 1 ledger entries", "order Z: ledger entries, unknown to orders"]

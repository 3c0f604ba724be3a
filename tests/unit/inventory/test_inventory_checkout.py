"""Inventory's reactions in a choreographed checkout (docs/choreography.md), called directly
with contract events on the in-memory repositories and outbox: reserve on OrderPlaced under
the derived reservation id, commit on PaymentCaptured, undo on OrderCancelling (release,
return, or a tombstone) and always say so with InventoryCheckoutUndone; repeats act once."""

from __future__ import annotations

import pytest

from mercato.contracts.ids import reservation_id
from mercato.contracts.orders import OrderCancelling, OrderLine, OrderPlaced
from mercato.contracts.payments import PaymentCaptured
from mercato.services.inventory.choreography import CheckoutReactions
from mercato.services.inventory.events import event_id
from tests.support.messages import envelope
from tests.unit.inventory.conftest import KNOWN, OTHER, assert_stock_conserved, envelopes

ORDER = "order-1"
RID = reservation_id(ORDER)


def placed(*lines: tuple[str, int], order_id: str = ORDER,
           checkout: str = "choreography") -> OrderPlaced:
    return OrderPlaced(order_id=order_id, customer_id="user-1", total=100, currency="USD",
                       items=[OrderLine(product_id=p, quantity=q, unit_price=10)
                              for p, q in lines], checkout=checkout)


def cancelling(order_id: str = ORDER) -> OrderCancelling:
    return OrderCancelling(order_id=order_id, customer_id="user-1", reason="payment_failed")


def captured(order_id: str = ORDER) -> PaymentCaptured:
    return PaymentCaptured(payment_id="pay-1", order_id=order_id, customer_id="user-1",
                           amount=100, currency="USD")


async def react(reactions: CheckoutReactions, event, event_id_: str = "e") -> None:
    handler = (reactions.on_payment_captured if isinstance(event, PaymentCaptured)
               else reactions.on_order)
    await handler(None, envelope(event, event_id_), event)


async def levels(inventory, product_id: str) -> tuple[int, int, int, int]:
    s = await inventory.get_stock(product_id)
    return (s.on_hand, s.available, s.reserved, s.sold)


async def of_type(inventory, *types: str) -> list[tuple[str, str, dict]]:
    """What the handlers published of these types: (type, event id, payload) each."""
    return [(e.type, e.id, e.payload) for e in await envelopes(inventory) if e.type in types]


@pytest.fixture
async def reactions(inventory) -> CheckoutReactions:
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    await inventory.adjust_stock(OTHER, 2, "initial", actor="a")
    return CheckoutReactions(inventory)


async def test_order_placed_reserves_under_the_derived_reservation_id(reactions, inventory):
    await react(reactions, placed((KNOWN, 3), (OTHER, 1)))
    assert await levels(inventory, KNOWN) == (10, 7, 3, 0)
    assert await levels(inventory, OTHER) == (2, 1, 1, 0)
    [(_, eid, payload)] = await of_type(inventory, "StockReserved")
    assert eid == event_id(RID, "reserved")
    assert payload["reservation_id"] == RID and payload["order_id"] == ORDER
    assert payload["items"] == [{"product_id": KNOWN, "quantity": 3},
                                {"product_id": OTHER, "quantity": 1}]


async def test_not_enough_stock_publishes_a_failure_and_the_reaction_does_not_raise(
        reactions, inventory):
    await react(reactions, placed((KNOWN, 3), (OTHER, 5)))  # must not raise
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    assert await levels(inventory, OTHER) == (2, 2, 0, 0)
    assert await of_type(inventory, "StockReserved") == []
    [(_, eid, payload)] = await of_type(inventory, "StockReservationFailed")
    assert eid == event_id(RID, "rejected")
    assert payload["order_id"] == ORDER and "5 requested, 2 available" in payload["detail"]


async def test_the_same_order_placed_twice_reserves_once(reactions, inventory):
    await react(reactions, placed((KNOWN, 3)), "e1")
    await react(reactions, placed((KNOWN, 3)), "e1")
    assert await levels(inventory, KNOWN) == (10, 7, 3, 0)
    assert len(await of_type(inventory, "StockReserved")) == 1


async def test_cancelling_after_a_reservation_releases_the_stock(reactions, inventory):
    await react(reactions, placed((KNOWN, 3)))
    await react(reactions, cancelling())
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    [(_, _, released)] = await of_type(inventory, "StockReleased")
    assert released["reservation_id"] == RID and released["reason"] == "released"
    [(_, eid, undone)] = await of_type(inventory, "InventoryCheckoutUndone")
    assert eid == event_id(RID, "undone")
    assert undone == {"order_id": ORDER, "reservation_id": RID, "outcome": "released"}
    await assert_stock_conserved(inventory)


async def test_cancelling_before_the_order_is_heard_leaves_a_tombstone(reactions, inventory):
    await react(reactions, cancelling())
    [(_, _, undone)] = await of_type(inventory, "InventoryCheckoutUndone")
    assert undone["outcome"] == "nothing"
    await react(reactions, placed((KNOWN, 3)))  # late: refused quietly
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    assert await of_type(inventory, "StockReserved", "StockReservationFailed",
                         "StockReleased") == []


async def test_a_capture_commits_and_a_later_cancelling_returns_the_goods(reactions,
                                                                          inventory):
    await react(reactions, placed((KNOWN, 3)))
    await react(reactions, captured())
    assert await levels(inventory, KNOWN) == (10, 7, 0, 3)
    [(_, eid, _)] = await of_type(inventory, "StockCommitted")
    assert eid == event_id(RID, "committed")
    await react(reactions, cancelling())
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    assert len(await of_type(inventory, "StockReturned")) == 1
    assert await of_type(inventory, "StockReleased") == []
    [(_, _, undone)] = await of_type(inventory, "InventoryCheckoutUndone")
    assert undone["outcome"] == "returned"
    await assert_stock_conserved(inventory)


async def test_a_capture_after_cancelling_commits_nothing(reactions, inventory):
    await react(reactions, placed((KNOWN, 3)))
    await react(reactions, cancelling())
    await react(reactions, captured())  # already-cancelled is an outcome, not an error
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    assert await of_type(inventory, "StockCommitted") == []


async def test_a_capture_of_a_refused_reservation_is_settled(reactions, inventory):
    await react(reactions, placed((OTHER, 5)))
    await react(reactions, captured())  # not-reserved: does not raise
    assert await levels(inventory, OTHER) == (2, 2, 0, 0)
    assert await of_type(inventory, "StockCommitted") == []


async def test_cancelling_a_refused_reservation_is_nothing_to_undo(reactions, inventory):
    await react(reactions, placed((OTHER, 5)))
    await react(reactions, cancelling())
    [(_, _, undone)] = await of_type(inventory, "InventoryCheckoutUndone")
    assert undone["outcome"] == "nothing"
    assert await of_type(inventory, "StockReleased") == []


async def test_the_same_cancelling_twice_undoes_once_and_says_so_once(reactions, inventory):
    await react(reactions, placed((KNOWN, 3)))
    await react(reactions, cancelling(), "c1")
    await react(reactions, cancelling(), "c1")
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    assert len(await of_type(inventory, "StockReleased")) == 1
    [(_, eid, undone)] = await of_type(inventory, "InventoryCheckoutUndone")
    assert eid == event_id(RID, "undone") and undone["outcome"] == "released"


async def test_cancelling_after_the_goods_were_returned_returns_nothing_more(reactions,
                                                                             inventory):
    await react(reactions, placed((KNOWN, 3)))
    await react(reactions, captured())
    await react(reactions, cancelling())
    await react(reactions, cancelling())
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    assert len(await of_type(inventory, "StockReturned")) == 1
    assert len(await of_type(inventory, "InventoryCheckoutUndone")) == 1


async def test_an_orchestrated_order_is_left_to_the_orchestrator(reactions, inventory):
    await react(reactions, placed((KNOWN, 3), checkout="orchestration"))
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)
    assert await of_type(inventory, "StockReserved") == []

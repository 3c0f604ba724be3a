"""The card token is not kept at rest past its use: the saga drops it with the save that
records the payment's authorization or the end of the forward steps (orchestration), and
orders empties the sealed one in OrderPlaced's outbox row once the payment is authorized
or the checkout is over (choreography). A retried authorization still has it."""

from __future__ import annotations

import pytest

from mercato.chassis.sealing import CARD_TOKEN, Sealer
from mercato.contracts.inventory import InventoryCheckoutUndone, StockCommitted, StockReserved
from mercato.contracts.payments import PaymentAuthorized, PaymentCheckoutUndone
from mercato.contracts.shipping import ShipmentScheduled, ShippingCheckoutUndone
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.order import Reason
from mercato.services.orders.domain.saga import CheckoutSaga, Phase, Step
from tests.unit.orders.at_rest import card_data_at_rest
from tests.unit.orders.conftest import ALICE, body
from tests.unit.orders.test_choreography_tracker import SECRET, choreographed, hear, payment


@pytest.fixture
def shop(sql_shop):
    """The shop on a migrated database: card data at rest is read from the database file."""
    return sql_shop


AT = "2026-03-01T09:00:00Z"
SEALER = Sealer(SECRET, CARD_TOKEN)


def at_rest(shop) -> list[str]:
    return card_data_at_rest(shop.store.db.path, {"tok_ok"}, SEALER)


# -- the rule, in the saga ----------------------------------------------------------
def test_the_saga_keeps_the_token_until_the_authorization_succeeds():
    saga = CheckoutSaga("o-1", "tok_ok")
    saga.begin(Step.RESERVE, AT)
    saga.succeeded(Step.RESERVE, AT)
    saga.begin(Step.AUTHORIZE, AT)
    assert saga.failed(Step.AUTHORIZE, AT, "503", deadline=30.0)  # tried again: needed
    assert (saga.card_token, saga.needs_card) == ("tok_ok", True)
    saga.succeeded(Step.AUTHORIZE, AT)
    assert (saga.card_token, saga.needs_card) == ("", False)


@pytest.mark.parametrize("end", ["rejected", "given_up", "cancelled"])
def test_a_checkout_undone_before_authorizing_forgets_the_token(end):
    saga = CheckoutSaga("o-1", "tok_ok")
    saga.begin(Step.RESERVE, AT)
    if end == "rejected":
        saga.rejected(Step.RESERVE, AT, "409: out of stock")
    elif end == "given_up":
        saga.give_up(Step.RESERVE, AT, "deadline")
    else:
        saga.cancel_requested = True
        saga.honour_cancel()
    assert saga.phase in (Phase.COMPENSATING, Phase.CANCELLED)
    assert saga.card_token == ""


def test_a_declined_authorization_forgets_the_token():
    saga = CheckoutSaga("o-1", "tok_ok")
    saga.begin(Step.RESERVE, AT)
    saga.succeeded(Step.RESERVE, AT)
    saga.begin(Step.AUTHORIZE, AT)
    saga.rejected(Step.AUTHORIZE, AT, "402: declined", Reason.PAYMENT_DECLINED)
    assert saga.card_token == ""


# -- orchestration: the saga row --------------------------------------------------
async def saga_row(shop, order_id: str) -> dict:
    return await shop.store.db.fetch_one(
        "SELECT card_token, state FROM sagas WHERE order_id = ?", order_id)


async def test_a_retried_authorization_has_the_token_and_the_save_that_records_it_drops_it(
        shop):
    seen: list[str] = []
    order_id = "order-1"

    async def at_authorize():  # what a runner resuming after a crash here would read
        seen.append((await saga_row(shop, order_id))["card_token"])

    async def at_schedule():  # the save that recorded the authorization has committed
        seen.append((await saga_row(shop, order_id))["card_token"])

    shop.fake.hooks.update(authorize_payment=at_authorize, schedule_shipment=at_schedule)
    shop.fake.answer("authorize_payment", Result("transient", "503: busy"))
    assert await shop.order(ALICE, ("p1", 1)) == order_id
    assert shop.fake.calls.count("authorize_payment") == 2
    assert seen == ["tok_ok", "tok_ok", ""]
    assert (await shop.store.get_order(order_id)).status.value == "confirmed"
    assert at_rest(shop) == []


@pytest.mark.parametrize("how", ["declined", "out_of_stock", "cancelled_pending",
                                 "cancelled_confirmed"])
async def test_no_card_token_is_left_after_an_orchestrated_checkout_ends(shop, how):
    if how == "declined":
        shop.fake.answer("authorize_payment", Result("rejected", "402: declined"))
    elif how == "out_of_stock":
        shop.fake.answer("reserve_stock", Result("rejected", "409: out of stock"))
    if how == "cancelled_pending":
        release = shop.hold()
        order_id = await shop.order(ALICE, ("p1", 1), settle=False)
        assert at_rest(shop)  # the check can see it: the checkout still needs it
        await shop.orders.cancel_order(ALICE, order_id)
        release.set()
        await shop.settle(order_id)
    else:
        order_id = await shop.order(ALICE, ("p1", 1))
    if how == "cancelled_confirmed":
        await shop.cancel(ALICE, order_id)
    assert (await shop.store.get_order(order_id)).status.value == "cancelled"
    assert at_rest(shop) == []


# -- choreography: the sealed token in OrderPlaced's outbox row ----------------------
async def test_the_sealed_token_goes_from_the_outbox_once_the_payment_is_authorized(shop):
    tracker = choreographed(shop)
    order = await shop.orders.place_order(ALICE, body(("p1", 2)), None)
    await hear(shop, tracker, StockReserved(reservation_id="r", order_id=order.id, items=[]),
               "e1")
    assert at_rest(shop)  # payments has not authorized yet: OrderPlaced still carries it
    await hear(shop, tracker, payment(order.id, cls=PaymentAuthorized), "e2")
    assert at_rest(shop) == []
    await hear(shop, tracker, ShipmentScheduled(shipment_id="s", order_id=order.id,
                                                customer_id="alice",
                                                tracking_number="MRC0000000001"), "e3")
    await hear(shop, tracker, StockCommitted(reservation_id="r", order_id=order.id, items=[]),
               "e4")
    assert (await shop.store.get_order(order.id)).status.value == "confirmed"
    assert at_rest(shop) == []


@pytest.mark.parametrize("why", ["declined", "customer"])
async def test_the_sealed_token_goes_when_a_choreographed_checkout_is_called_off(shop, why):
    tracker = choreographed(shop)
    order = await shop.orders.place_order(ALICE, body(("p1", 2)), None)
    if why == "declined":
        await hear(shop, tracker, payment(order.id, reason="card_declined"), "e1")
    else:
        await shop.orders.cancel_order(ALICE, order.id)
        assert at_rest(shop)  # kept until the checkout ends: OrderPlaced may not be out yet
    for n, undone in enumerate([
            InventoryCheckoutUndone(order_id=order.id, reservation_id="r", outcome="released"),
            ShippingCheckoutUndone(order_id=order.id, shipment_id="s", outcome="nothing"),
            PaymentCheckoutUndone(order_id=order.id, payment_id="p", outcome="nothing")]):
        await hear(shop, tracker, undone, f"u{n}")
    assert (await shop.store.get_order(order.id)).status.value == "cancelled"
    assert at_rest(shop) == []

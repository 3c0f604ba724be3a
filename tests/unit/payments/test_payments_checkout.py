"""Payments' reactions in a choreographed checkout (docs/choreography.md), called directly
with contract events on the in-memory repositories and the simulated card provider: OrderPlaced
keeps the intent with the card token still sealed, StockReserved authorizes (or says not
yet), a provider that keeps failing is given up on after ``attempts`` tries, ShipmentScheduled
captures, and OrderCancelling voids, refunds or leaves a tombstone and says so."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mercato.chassis.messaging import NotYet
from mercato.chassis.sealing import CARD_TOKEN, Sealer
from mercato.contracts.ids import payment_id
from mercato.contracts.inventory import StockLine, StockReserved
from mercato.contracts.orders import OrderCancelling, OrderLine, OrderPlaced
from mercato.contracts.shipping import ShipmentScheduled
from mercato.services.payments.choreography import CheckoutReactions
from mercato.services.payments.domain import Status
from mercato.services.payments.events import transition_event_id
from mercato.services.payments.provider import SimulatedProvider
from tests.support.memory.payments import MemoryIntentRepository
from tests.support.messages import envelope

ORDER = "order-1"
PID = payment_id(ORDER)
SECRET = "unit-test-service-secret"


class CountingProvider(SimulatedProvider):
    """The simulated provider, no latency, counting the calls and the tokens it saw."""

    def __init__(self) -> None:
        super().__init__(latency=0, timeout=1.0)
        self.calls: list[tuple[str, str]] = []

    async def authorize(self, token, amount, currency, reference):
        self.calls.append(("authorize", token))
        return await super().authorize(token, amount, currency, reference)

    async def capture(self, provider_reference, amount):
        self.calls.append(("capture", provider_reference))
        return await super().capture(provider_reference, amount)

    async def void(self, provider_reference):
        self.calls.append(("void", provider_reference))
        return await super().void(provider_reference)

    async def refund(self, provider_reference, amount):
        self.calls.append(("refund", provider_reference))
        return await super().refund(provider_reference, amount)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.calls if c[0] == kind)


@pytest.fixture
async def world(make_payments):
    provider = CountingProvider()
    payments = await make_payments(provider)
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    sealer = Sealer(SECRET, CARD_TOKEN)
    intents = MemoryIntentRepository(payments.db)
    reactions = CheckoutReactions(payments, intents, sealer, attempts=3, backoff=0.5,
                                  sleep=sleep)
    return SimpleNamespace(payments=payments, provider=provider, reactions=reactions,
                           sealer=sealer, slept=slept, intents=intents)


def placed(world, token: str = "tok_ok", checkout: str = "choreography") -> OrderPlaced:
    return OrderPlaced(order_id=ORDER, customer_id="user-1", total=2599, currency="USD",
                       items=[OrderLine(product_id="p1", quantity=1, unit_price=2599)],
                       sealed_card_token=world.sealer.seal(token) if token else None,
                       checkout=checkout)


def reserved() -> StockReserved:
    return StockReserved(reservation_id="r-1", order_id=ORDER,
                         items=[StockLine(product_id="p1", quantity=1)])


def cancelling() -> OrderCancelling:
    return OrderCancelling(order_id=ORDER, customer_id="user-1", reason="shipment_failed")


def scheduled() -> ShipmentScheduled:
    return ShipmentScheduled(shipment_id="s-1", order_id=ORDER, customer_id="user-1",
                             tracking_number="MRC1")


async def react(world, event, eid: str = "e") -> None:
    r = world.reactions
    handler = {StockReserved: r.on_stock_reserved,
               ShipmentScheduled: r.on_shipment_scheduled}.get(type(event), r.on_order)
    await handler(None, envelope(event, eid), event)


async def published(world, *types: str) -> list[tuple[str, str, dict]]:
    return [(e.type, e.id, e.payload) for e in world.payments.outbox.envelopes
            if not types or e.type in types]


async def undone_outcome(world) -> str:
    [(_, eid, payload)] = await published(world, "PaymentCheckoutUndone")
    assert eid == transition_event_id(PID, "undone")
    assert payload["order_id"] == ORDER and payload["payment_id"] == PID
    return payload["outcome"]


async def test_order_placed_keeps_the_intent_with_the_token_sealed(world):
    await react(world, placed(world))
    row = await world.intents.get(ORDER)
    assert (row["customer_id"], row["amount"], row["currency"]) == ("user-1", 2599, "USD")
    assert "tok_ok" not in row["sealed_card_token"]
    assert world.sealer.open(row["sealed_card_token"]) == "tok_ok"
    assert world.provider.calls == [] and await published(world) == []


async def test_stock_reserved_before_order_placed_is_not_yet(world):
    with pytest.raises(NotYet):
        await react(world, reserved())
    assert world.provider.calls == []
    assert await world.payments.store.get(PID) is None


async def test_stock_reserved_authorizes_with_the_opened_token(world):
    await react(world, placed(world))
    await react(world, reserved())
    assert world.provider.calls == [("authorize", "tok_ok")]
    payment = await world.payments.store.get(PID)
    assert payment.status is Status.AUTHORIZED and payment.amount == 2599
    [(_, eid, payload)] = await published(world, "PaymentAuthorized")
    assert eid == transition_event_id(PID, Status.AUTHORIZED)
    assert payload["order_id"] == ORDER and payload["payment_id"] == PID


async def test_the_same_stock_reserved_twice_authorizes_once(world):
    await react(world, placed(world))
    await react(world, reserved(), "e1")
    await react(world, reserved(), "e1")
    assert world.provider.count("authorize") == 1
    assert len(await published(world, "PaymentAuthorized")) == 1


async def test_a_declined_card_fails_the_payment_without_raising(world):
    await react(world, placed(world, "tok_decline"))
    await react(world, reserved())
    [(_, _, payload)] = await published(world, "PaymentFailed")
    assert payload["reason"] == "card_declined"
    assert await published(world, "PaymentAuthorized") == []


async def test_a_provider_failing_every_time_is_given_up_after_the_attempts(world):
    await react(world, placed(world, "tok_error"))
    await react(world, reserved())  # does not raise
    assert world.provider.count("authorize") == 3
    assert world.slept == [0.5, 1.0]  # backoff doubles, no sleep after the last try
    payment = await world.payments.store.get(PID)
    assert payment.status is Status.FAILED
    assert payment.failure_reason == "provider_unavailable"
    [(_, eid, payload)] = await published(world, "PaymentFailed")
    assert eid == transition_event_id(PID, Status.FAILED)
    assert payload["reason"] == "provider_unavailable" and payload["amount"] == 2599


async def test_shipment_scheduled_captures(world):
    await react(world, placed(world))
    await react(world, reserved())
    await react(world, scheduled())
    assert (await world.payments.store.get(PID)).status is Status.CAPTURED
    assert world.provider.count("capture") == 1
    assert len(await published(world, "PaymentCaptured")) == 1


async def test_cancelling_an_authorization_voids_it(world):
    await react(world, placed(world))
    await react(world, reserved())
    await react(world, cancelling())
    assert (await world.payments.store.get(PID)).status is Status.VOIDED
    assert world.provider.count("void") == 1
    assert len(await published(world, "PaymentVoided")) == 1
    assert await undone_outcome(world) == "voided"


async def test_cancelling_a_capture_refunds_it(world):
    await react(world, placed(world))
    await react(world, reserved())
    await react(world, scheduled())
    await react(world, cancelling())
    assert (await world.payments.store.get(PID)).status is Status.REFUNDED
    assert world.provider.count("refund") == 1 and world.provider.count("void") == 0
    assert len(await published(world, "PaymentRefunded")) == 1
    assert await undone_outcome(world) == "refunded"


async def test_cancelling_a_declined_payment_is_nothing(world):
    await react(world, placed(world, "tok_decline"))
    await react(world, reserved())
    await react(world, cancelling())
    assert (await world.payments.store.get(PID)).status is Status.FAILED
    assert await published(world, "PaymentVoided") == []
    assert await undone_outcome(world) == "nothing"


async def test_cancelling_before_any_authorization_leaves_a_tombstone(world):
    await react(world, placed(world))
    await react(world, cancelling())
    assert await undone_outcome(world) == "nothing"
    await react(world, reserved())  # late: refused quietly
    assert world.provider.calls == []
    assert await world.payments.store.get(PID) is None
    assert await published(world, "PaymentAuthorized", "PaymentFailed") == []


async def test_a_capture_after_cancelling_captures_nothing(world):
    await react(world, placed(world))
    await react(world, reserved())
    await react(world, cancelling())
    await react(world, scheduled())  # invalid-transition is settled, not raised
    assert (await world.payments.store.get(PID)).status is Status.VOIDED
    assert world.provider.count("capture") == 0


async def test_the_same_cancelling_twice_undoes_once(world):
    await react(world, placed(world))
    await react(world, reserved())
    await react(world, cancelling(), "c1")
    await react(world, cancelling(), "c1")
    assert world.provider.count("void") == 1
    assert len(await published(world, "PaymentVoided")) == 1
    assert await undone_outcome(world) == "voided"


async def test_an_order_cancelled_before_authorizing_is_not_asked_about(world):
    await react(world, placed(world, "tok_error"))
    await react(world, cancelling())
    await react(world, reserved())
    assert world.provider.calls == []  # the tombstone refuses before the provider
    assert await world.payments.store.get(PID) is None
    assert await published(world, "PaymentFailed") == []


async def test_giving_up_after_a_cancellation_landed_meanwhile_records_no_failure(world):
    """The tombstone written while the provider failed for the last time wins over the
    given-up failure: no PaymentFailed for a cancelled order."""
    payments = world.payments
    failing_authorize = world.provider.authorize

    async def cancelled_during_the_last_try(token, amount, currency, reference):
        if world.provider.count("authorize") == 2:
            async with payments.db.transaction() as tx:
                await payments.store.tombstone(tx, PID, "2025-01-01T00:00:00Z")
        return await failing_authorize(token, amount, currency, reference)

    world.provider.authorize = cancelled_during_the_last_try
    await react(world, placed(world, "tok_error"))
    await react(world, reserved())  # does not raise
    assert world.provider.count("authorize") == 3
    assert await world.payments.store.get(PID) is None
    assert await published(world, "PaymentFailed") == []


async def test_an_orchestrated_order_is_left_to_the_orchestrator(world):
    await react(world, placed(world, token="", checkout="orchestration"))
    await react(world, reserved())  # heard, not NotYet: its OrderPlaced said orchestration
    assert world.provider.calls == []
    assert await world.payments.store.get(PID) is None


async def sealed_card(world) -> str:
    return (await world.intents.get(ORDER))["sealed_card_token"]


@pytest.mark.parametrize("card", ["tok_ok", "tok_decline", "tok_error"])
async def test_the_sealed_card_is_forgotten_once_the_authorization_is_answered(world, card):
    await react(world, placed(world, card))
    assert world.sealer.open(await sealed_card(world)) == card  # kept until then
    await react(world, reserved())
    assert await sealed_card(world) == ""
    calls = list(world.provider.calls)
    published_before = await published(world)
    await react(world, reserved(), "redelivered")  # answered from what was stored
    assert world.provider.calls == calls and await published(world) == published_before


async def test_the_sealed_card_is_forgotten_when_the_checkout_is_called_off(world):
    await react(world, placed(world))
    await react(world, cancelling())
    assert await sealed_card(world) == ""

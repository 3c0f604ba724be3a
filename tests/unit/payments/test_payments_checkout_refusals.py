"""How payments' checkout reactions take a handler's refusal: an outcome (declined,
cancelled, a move not needed) ends the reaction and is named on its span; a refund is the
undo of a capture; anything else (the provider refusing, a bug) is raised for redelivery."""

from __future__ import annotations

import pytest

from mercato.chassis.sealing import CARD_TOKEN, Sealer
from mercato.contracts.ids import payment_id
from mercato.contracts.shipping import ShipmentScheduled
from mercato.services.payments import choreography
from mercato.services.payments.choreography import CheckoutReactions
from mercato.services.payments.domain import ProviderRefused, Status
from tests.support.memory.payments import MemoryIntentRepository
from tests.support.messages import envelope
from tests.unit.payments.payment_doubles import FakeProvider, authorize_cmd

ORDER = "order-1"
PID = payment_id(ORDER)


@pytest.fixture
def spans(monkeypatch) -> list[tuple[dict, str | None]]:
    seen: list[tuple[dict, str | None]] = []
    monkeypatch.setattr(choreography, "annotate",
                        lambda attributes, error=None: seen.append((attributes, error)))
    return seen


@pytest.fixture
def reactions_for(make_payments):
    async def make(*script: str) -> CheckoutReactions:
        payments = await make_payments(FakeProvider(*script))
        return CheckoutReactions(payments, MemoryIntentRepository(payments.db),
                                 Sealer("s", CARD_TOKEN), attempts=2, backoff=0.1,
                                 sleep=_no_sleep)
    return make


async def _no_sleep(_delay: float) -> None:
    return None


def cmd():
    return authorize_cmd(PID, order_id=ORDER)


def undone(reactions) -> list[str]:
    return [e.payload["outcome"] for e in reactions.payments.outbox.envelopes
            if e.type == "PaymentCheckoutUndone"]


async def test_a_declined_authorization_is_an_outcome_marked_as_an_error(reactions_for, spans):
    reactions = await reactions_for("decline")
    await reactions._authorize(cmd(), ORDER)
    assert spans == [({"mercato.saga.outcome": "payment-declined"},
                      "payment-declined: the card was declined: card_declined")]


async def test_a_capture_of_a_voided_payment_is_an_invalid_transition_outcome(
    reactions_for, spans,
):
    reactions = await reactions_for()
    await reactions.payments.authorize(cmd())
    await reactions.payments.void(PID)
    spans.clear()
    scheduled = ShipmentScheduled(shipment_id="s-1", order_id=ORDER, customer_id="user-1",
                                  tracking_number="MRC1")
    await reactions.on_shipment_scheduled(None, envelope(scheduled, "e"), scheduled)
    assert spans[-1] == ({"mercato.saga.outcome": "invalid-transition"}, None)


async def test_undoing_a_refunded_payment_is_refunded_without_the_provider(reactions_for):
    reactions = await reactions_for()
    p = reactions.payments
    await p.authorize(cmd())
    await p.capture(PID)
    await p.refund(PID)
    calls = len(p.provider.calls)
    await reactions.undo(ORDER)
    assert undone(reactions) == ["refunded"]
    assert len(p.provider.calls) == calls


async def test_a_void_the_provider_refuses_is_raised_and_nothing_is_said_undone(
    reactions_for,
):
    reactions = await reactions_for("approve", "decline")  # authorizes, refuses the void
    await reactions.payments.authorize(cmd())
    with pytest.raises(ProviderRefused):
        await reactions.undo(ORDER)
    assert (await reactions.payments.store.get(PID)).status is Status.AUTHORIZED
    assert undone(reactions) == []

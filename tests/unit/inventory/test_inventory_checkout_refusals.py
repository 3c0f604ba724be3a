"""Which refusals end a checkout reaction as its outcome (annotated and logged) and which
propagate so the event is redelivered; the reactions tell them apart by their types."""

from __future__ import annotations

import pytest

from mercato.chassis.errors import NotFound
from mercato.services.inventory import choreography
from mercato.services.inventory.choreography import CheckoutReactions
from mercato.services.inventory.domain import RequestMismatch
from tests.unit.inventory.conftest import KNOWN, OTHER
from tests.unit.inventory.test_inventory_checkout import (
    RID,
    cancelling,
    captured,
    levels,
    of_type,
    placed,
    react,
)


@pytest.fixture
async def reactions(inventory) -> CheckoutReactions:
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    await inventory.adjust_stock(OTHER, 2, "initial", actor="a")
    return CheckoutReactions(inventory)


@pytest.fixture
def outcomes(monkeypatch) -> list[tuple[dict, str | None]]:
    said: list[tuple[dict, str | None]] = []
    monkeypatch.setattr(choreography, "annotate",
                        lambda attrs, error=None: said.append((attrs, error)))
    return said


async def test_out_of_stock_is_the_outcome_and_an_error_on_the_span(reactions, outcomes):
    await react(reactions, placed((OTHER, 5)))
    [(step, _), (outcome, error)] = outcomes
    assert step == {"mercato.saga.step": "reserve_stock"}
    assert outcome == {"mercato.saga.outcome": "out-of-stock"}
    assert error is not None and error.startswith("out-of-stock: not enough stock: ")


async def test_a_capture_of_an_expired_reservation_is_settled(reactions, inventory, clock,
                                                              outcomes):
    await react(reactions, placed((KNOWN, 3)))
    clock.advance(900)
    await react(reactions, captured())
    assert outcomes[-1] == ({"mercato.saga.outcome": "reservation-expired"}, None)
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)


async def test_a_capture_of_an_unknown_reservation_is_redelivered(reactions):
    with pytest.raises(NotFound):
        await react(reactions, captured("never-placed"))


async def test_the_same_order_id_with_other_items_is_redelivered(reactions, inventory):
    await react(reactions, placed((KNOWN, 3)))
    with pytest.raises(RequestMismatch):
        await react(reactions, placed((KNOWN, 4)))
    assert await levels(inventory, KNOWN) == (10, 7, 3, 0)


async def test_a_reservation_committed_after_the_undo_read_it_is_returned(
        reactions, inventory, monkeypatch):
    await react(reactions, placed((KNOWN, 3)))
    release = inventory.release

    async def committed_meanwhile(rid: str):
        await inventory.commit(rid)  # the capture wins the race
        return await release(rid)  # already-committed

    monkeypatch.setattr(inventory, "release", committed_meanwhile)
    await react(reactions, cancelling())
    [(_, _, undone)] = await of_type(inventory, "InventoryCheckoutUndone")
    assert (undone["reservation_id"], undone["outcome"]) == (RID, "returned")
    assert await levels(inventory, KNOWN) == (10, 10, 0, 0)

"""Shipping's repository port (services/shipping/ports.py), held to one behaviour on every
implementation: the SQL adapter on SQLite and on PostgreSQL, and the in-memory fake the
handlers' unit tests run on (tests/support/memory/shipping.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mercato.services.shipping.domain import Address, Item, Shipment, Status
from mercato.services.shipping.ports import CheckoutIntent, Tombstoned, TrackingNumberTaken
from mercato.services.shipping.store import SqlShipmentRepository
from tests.support.memory.shipping import MemoryShipmentRepository

SERVICE = "shipping"  # the database the SQL adapter runs on (conftest ``contract_db``)

AT = "2026-12-06T08:00:00+00:00"
ADDRESS = Address(name="Ada", line1="1 Way", city="London", postal_code="N1", country="GB")


@pytest.fixture
def repo(where, contract_db):
    return (MemoryShipmentRepository if where == "memory"
            else SqlShipmentRepository)(contract_db)


def shipment(sid: str, order: str = "order-1", created: str = AT, **changes) -> Shipment:
    fields = dict(id=sid, order_id=order, customer_id="user-1", address=ADDRESS,
                  items=(Item("p1", 2), Item("p2", 1)), status=Status.SCHEDULED,
                  tracking_number=f"MRC-{sid}", created_at=created, updated_at=created)
    return Shipment(**{**fields, **changes})


async def add(repo, *shipments: Shipment) -> list[tuple[Shipment, bool]]:
    async with repo.db.transaction() as tx:
        return [await repo.add(tx, s) for s in shipments]


async def test_nothing_stored_reads_as_none_false_and_empty(repo):
    assert await repo.get("ship-1") is None
    assert await repo.is_tombstoned("ship-1") is False
    assert await repo.for_order("order-1") == []
    assert await repo.summaries() == []
    assert await repo.next_due() is None
    assert await repo.due(AT, 10) == []
    assert await repo.checkout_intent("order-1") is None


async def test_a_shipment_added_reads_back_whole_and_a_repeat_of_its_id_is_a_replay(repo):
    first = shipment("ship-1", due_at="2026-12-06T08:00:30.000000Z")
    assert await add(repo, first) == [(first, True)]
    again = shipment("ship-1", tracking_number="MRC-other")
    assert await add(repo, again) == [(first, False)]
    assert await repo.get("ship-1") == first


async def test_an_orders_shipments_and_the_summaries_come_oldest_first(repo):
    await add(repo, shipment("ship-b", created="2026-12-06T09:00:00+00:00"),
              shipment("ship-c", order="order-2"), shipment("ship-a"))
    assert [s.id for s in await repo.for_order("order-1")] == ["ship-a", "ship-b"]
    assert await repo.summaries() == [
        {"shipment_id": "ship-a", "order_id": "order-1", "status": "scheduled"},
        {"shipment_id": "ship-c", "order_id": "order-2", "status": "scheduled"},
        {"shipment_id": "ship-b", "order_id": "order-1", "status": "scheduled"}]


async def test_a_clashing_tracking_number_is_refused_and_the_transaction_goes_on(repo):
    await add(repo, shipment("ship-1", tracking_number="MRC-SAME"))
    async with repo.db.transaction() as tx:
        with pytest.raises(TrackingNumberTaken):
            await repo.add(tx, shipment("ship-2", tracking_number="MRC-SAME"))
        assert await repo.add(tx, shipment("ship-2")) == (shipment("ship-2"), True)
    assert (await repo.get("ship-2")).tracking_number == "MRC-ship-2"


async def test_a_tombstone_refuses_its_shipment_and_a_repeat_changes_nothing(repo):
    async with repo.db.transaction() as tx:
        await repo.add_tombstone(tx, "ship-1", AT)
        await repo.add_tombstone(tx, "ship-1", AT)
        with pytest.raises(Tombstoned):
            await repo.add(tx, shipment("ship-1"))
    assert await repo.is_tombstoned("ship-1") is True
    assert await repo.get("ship-1") is None


async def test_a_move_is_stored_only_over_the_shipment_it_was_decided_on(repo):
    [(stored, _)] = await add(repo, shipment("ship-1"))
    released = replace(stored, released_at=AT, due_at="2026-12-06T08:00:30.000000Z")
    labelled = replace(released, status=Status.LABELLED, updated_at="2026-12-06T08:00:31Z",
                       due_at="2026-12-06T08:01:01.000000Z")
    async with repo.db.transaction() as tx:
        assert await repo.save_move(tx, released, labelled) is False  # not released yet
        assert await repo.save_move(tx, stored, released) is True
        assert await repo.save_move(tx, stored, released) is False  # taken already
        assert await repo.save_move(tx, released, labelled) is True
    assert await repo.get("ship-1") == labelled
    cancelled = replace(labelled, status=Status.CANCELLED, updated_at=AT, due_at=None)
    async with repo.db.transaction() as tx:
        await repo.save_status(tx, cancelled)
    assert await repo.get("ship-1") == cancelled


async def test_due_shipments_come_earliest_first_up_to_the_limit_and_the_time_given(repo):
    early, late = "2026-12-06T08:00:10.000000Z", "2026-12-06T08:00:20.000000Z"
    await add(repo, shipment("ship-c", due_at=early), shipment("ship-a", due_at=late),
              shipment("ship-b", due_at=early), shipment("ship-d"))
    assert await repo.due(late, 10) == ["ship-b", "ship-c", "ship-a"]
    assert await repo.due(late, 2) == ["ship-b", "ship-c"]
    assert await repo.due("2026-12-06T08:00:19.999999Z", 10) == ["ship-b", "ship-c"]
    assert await repo.next_due() == early


async def test_the_first_checkout_intent_of_an_order_stays(repo):
    first = CheckoutIntent(customer_id="user-1", address={"name": "Ada", "country": "gb"},
                           items=[{"product_id": "p1", "quantity": 2}], checkout="choreography")
    async with repo.db.transaction() as tx:
        await repo.add_checkout_intent(tx, "order-1", first, AT)
        await repo.add_checkout_intent(tx, "order-1", replace(first, customer_id="x"), AT)
    assert await repo.checkout_intent("order-1") == first
    assert await repo.checkout_intent("order-2") is None


async def test_a_transaction_that_fails_leaves_nothing_behind(repo):
    [(stored, _)] = await add(repo, shipment("ship-1"))
    intent = CheckoutIntent(customer_id="user-1", address={}, items=[], checkout="x")
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await repo.add(tx, shipment("ship-2"))
            await repo.add_tombstone(tx, "ship-3", AT)
            await repo.save_move(tx, stored, replace(stored, released_at=AT, due_at=AT))
            await repo.add_checkout_intent(tx, "order-9", intent, AT)
            assert await repo.get("ship-2", tx) is not None  # seen inside
            raise RuntimeError("the handler refused after writing")
    assert await repo.get("ship-2") is None
    assert await repo.is_tombstoned("ship-3") is False
    assert await repo.get("ship-1") == stored
    assert await repo.checkout_intent("order-9") is None

"""The in-memory outbox the handler tests use keeps the chassis outbox's promises: its rows
roll back with the transaction, an id is stored once, a service publishes only its own."""

import pytest

from mercato.contracts.shipping import ShipmentScheduled
from tests.support.memory import MemoryDatabase
from tests.support.memory.outbox import MemoryOutbox

EVENT = ShipmentScheduled(shipment_id="s1", order_id="o1", customer_id="c1",
                          tracking_number="MRC1")


async def test_rows_roll_back_with_the_transaction_and_an_id_is_stored_once():
    db = MemoryDatabase()
    outbox = MemoryOutbox(db, "shipping")
    async with db.transaction() as tx:
        await outbox.add(tx, EVENT, event_id="e1")
        await outbox.add(tx, EVENT, event_id="e1")
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await outbox.add(tx, EVENT, event_id="e2")
            raise RuntimeError("refused after writing")
    assert [e.id for e in outbox.envelopes] == ["e1"]
    assert (await outbox.unpublished())["pending"] == 1
    await outbox.mark_published([row["seq"] for row in await outbox.pending(10)])
    assert await outbox.count_pending() == 0


async def test_a_service_cannot_publish_another_services_event():
    db = MemoryDatabase()
    outbox = MemoryOutbox(db, "payments")
    with pytest.raises(ValueError, match="belongs to shipping"):
        async with db.transaction() as tx:
            await outbox.add(tx, EVENT)

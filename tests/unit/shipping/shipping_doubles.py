"""Shipping test helpers: scripted tracking numbers, an address and a command builder, an
outbox that fails on demand, and a reader of the outbox."""

from __future__ import annotations

from mercato.chassis.messaging import Outbox
from mercato.contracts import Envelope, Event, all_events
from mercato.services.shipping.domain import Address, Item
from mercato.services.shipping.handlers import Schedule


class ScriptedNumbers:
    """Hands out the given tracking numbers in order, then numbered ones."""

    def __init__(self, *numbers: str) -> None:
        self.numbers = list(numbers)
        self.handed = 0

    def __call__(self) -> str:
        self.handed += 1
        return self.numbers.pop(0) if self.numbers else f"MRC{self.handed:010d}"


def address(**changes) -> Address:
    fields = dict(name="Ada Lovelace", line1="1 Analytical Way", city="London",
                  postal_code="N1 9GU", country="GB")
    fields.update(changes)
    return Address(**fields)


def schedule_cmd(shipment_id: str = "ship-1", **changes) -> Schedule:
    fields = dict(shipment_id=shipment_id, order_id="order-1", customer_id="user-1",
                  address=address(), items=(Item("prod-1", 2),))
    fields.update(changes)
    return Schedule(**fields)


class ExplodingOutbox(Outbox):
    """Writes the event row, then fails for the event types in ``fail_on``: everything in
    that transaction must roll back."""

    fail_on: frozenset[str] = frozenset()

    async def add(self, tx, event, **kwargs):
        envelope = await super().add(tx, event, **kwargs)
        if event.type_name() in self.fail_on:
            raise RuntimeError(f"the outbox failed after writing {event.type_name()}")
        return envelope


async def outbox_events(db) -> list[tuple[Envelope, Event]]:
    """Every outbox row, in order, decoded as a consumer would: the envelope, then the
    payload validated against the contract class named by its type."""
    rows = await db.fetch_all("SELECT id, subject, body FROM outbox ORDER BY seq")
    decoded = []
    for row in rows:
        envelope = Envelope.model_validate_json(row["body"])
        assert (row["id"], row["subject"]) == (envelope.id, envelope.subject)
        decoded.append((envelope, all_events()[envelope.type].model_validate(envelope.payload)))
    return decoded

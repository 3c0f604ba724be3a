"""Shipping test helpers: scripted tracking numbers, an address, a command builder and an
outbox that fails after writing."""

from __future__ import annotations

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

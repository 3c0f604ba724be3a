"""``CartRepository`` (services/cart/ports.py) in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from mercato.chassis.data import Connection
from mercato.services.cart.domain import Cart, CartLine
from tests.support.memory import MemoryDatabase


@dataclass
class _Stored:
    currency: str
    lines: dict[str, int] = field(default_factory=dict)  # product id -> quantity, in order


class MemoryCartRepository:
    """Carts as dicts; lines keep the order they were first added in (a dict's order)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._carts: dict[str, _Stored] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, _Stored]:
        return self._carts

    def restore(self, state: dict[str, _Stored]) -> None:
        self._carts = state

    async def get(self, user_id: str, tx: Connection | None = None) -> Cart:
        if tx is None:
            await self.db.outside()
        stored = self._carts.get(user_id)
        if stored is None:
            return Cart(user_id, None)
        lines = tuple(CartLine(pid, qty) for pid, qty in stored.lines.items())
        return Cart(user_id, stored.currency, lines)

    async def open(self, tx: Connection, user_id: str, currency: str, at: str) -> None:
        if user_id in self._carts:  # the SQL adapter's primary key says the same
            raise AssertionError(f"the cart of {user_id} is open already")
        self._carts[user_id] = _Stored(currency)

    async def put_line(self, tx: Connection, user_id: str, product_id: str, quantity: int,
                       at: str) -> None:
        self._carts[user_id].lines[product_id] = quantity

    async def remove_line(self, tx: Connection, user_id: str, product_id: str,
                          at: str) -> None:
        stored = self._carts.get(user_id)
        if stored is None:
            return
        stored.lines.pop(product_id, None)
        if not stored.lines:
            del self._carts[user_id]

    async def clear(self, tx: Connection, user_id: str) -> None:
        self._carts.pop(user_id, None)

"""Fakes implementing the same ports as the orders service's HTTP adapters."""

from __future__ import annotations

from collections import defaultdict, deque

from mercato.services.orders.domain.order import Order
from mercato.services.orders.saga.participants import OK, Result

ACTIONS = ("reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
           "confirm_order", "release_stock", "void_payment", "cancel_shipment",
           "refund_payment", "return_stock", "notify")


class FakeParticipants:
    """Answers OK unless a result is scripted for an action; records every call."""

    def __init__(self) -> None:
        self.script: dict[str, deque[Result]] = defaultdict(deque)
        self.calls: list[str] = []
        self.notified: list[tuple[str, str]] = []
        self.hooks: dict[str, object] = {}

    def answer(self, action: str, *results: Result) -> None:
        self.script[action].extend(results)

    async def _act(self, action: str, order: Order) -> Result:
        self.calls.append(action)
        hook = self.hooks.get(action)
        if hook:
            await hook()
        queue = self.script[action]
        return queue.popleft() if queue else OK

    def __getattr__(self, name: str):
        if name not in ACTIONS:
            raise AttributeError(name)

        async def action(order: Order, *_args) -> Result:
            result = await self._act(name, order)
            if name == "notify" and result.ok:
                self.notified.append((order.id, order.status.value))
            return result

        return action


class FakeCatalog:
    def __init__(self, products: dict[str, dict]) -> None:
        self.products = products

    async def lookup(self, product_ids: list[str]) -> dict[str, dict]:
        return {p: self.products[p] for p in product_ids if p in self.products}


class FakeCart:
    def __init__(self) -> None:
        self.carts: dict[str, list[dict]] = {}

    async def items(self, user_id: str) -> list[dict]:
        return list(self.carts.get(user_id, []))

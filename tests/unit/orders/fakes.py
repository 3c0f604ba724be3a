"""Fakes implementing the same ports as the orders service's HTTP adapters, and a
timeline of the participants' calls and the published events in the order they happened."""

from __future__ import annotations

from collections import defaultdict, deque

from mercato.chassis.data.db import Database
from mercato.contracts.envelope import Envelope
from mercato.services.orders.domain.order import Order
from mercato.services.orders.saga.participants import OK, Result

ACTIONS = ("reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
           "confirm_order", "release_stock", "void_payment", "cancel_shipment",
           "refund_payment", "return_stock")


class Timeline:
    """Participant calls and the types of committed events, interleaved as they
    happened: before each call, the events committed since the last look are added."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.entries: list[str] = []
        self._seen = 0

    async def _catch_up(self) -> None:
        rows = await self.db.fetch_all("SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq",
                                       self._seen)
        for row in rows:
            self.entries.append(Envelope.model_validate_json(row["body"]).type)
            self._seen = row["seq"]

    async def call(self, action: str) -> None:
        await self._catch_up()
        self.entries.append(action)

    async def all(self) -> list[str]:
        await self._catch_up()
        return list(self.entries)


class FakeParticipants:
    """Answers OK unless a result is scripted for an action; records every call."""

    def __init__(self, timeline: Timeline | None = None) -> None:
        self.script: dict[str, deque[Result]] = defaultdict(deque)
        self.calls: list[str] = []
        self.hooks: dict[str, object] = {}
        self.timeline = timeline

    def answer(self, action: str, *results: Result) -> None:
        self.script[action].extend(results)

    async def _act(self, action: str, order: Order) -> Result:
        self.calls.append(action)
        if self.timeline is not None:
            await self.timeline.call(action)
        hook = self.hooks.get(action)
        if hook:
            await hook()
        queue = self.script[action]
        return queue.popleft() if queue else OK

    def __getattr__(self, name: str):
        if name not in ACTIONS:
            raise AttributeError(name)

        async def action(order: Order, *_args) -> Result:
            return await self._act(name, order)

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

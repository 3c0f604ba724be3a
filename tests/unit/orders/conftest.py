"""A shop: the real handlers and saga runner with fake participants, catalog and cart;
``shop`` on the in-memory repository and outbox (held to the SQL adapter's behaviour by
tests/db_contract/test_orders_repository.py), ``sql_shop`` on a migrated database with the
projector and read models too, for the tests of what only SQL has (the read models, the
card data at rest, two handles on one database)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from mercato.chassis import Principal
from mercato.chassis.messaging import Outbox
from mercato.contracts import Envelope
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.handlers import Orders
from mercato.services.orders.ports import OrderRepository
from mercato.services.orders.projections import Projector, read_models
from mercato.services.orders.projections.views import OrderViews
from tests.support.clock import ManualClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.orders import MemoryOrderRepository
from tests.support.memory.outbox import MemoryOutbox
from tests.unit.orders.fakes import FakeCart, FakeCatalog, FakeParticipants, envelopes

ALICE = Principal("alice", frozenset({"customer"}))
BOB = Principal("bob", frozenset({"customer"}))
ADMIN = Principal("root", frozenset({"customer", "admin"}))
PRODUCTS = {
    "p1": {"id": "p1", "name": "Mug", "price": 1299, "currency": "USD"},
    "p2": {"id": "p2", "name": "Hat", "price": 1800, "currency": "USD"},
    "eur": {"id": "eur", "name": "Euro mug", "price": 1000, "currency": "EUR"},
}
ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}


def body(*items: tuple[str, int], card: str = "tok_ok") -> dict:
    return {"items": [{"product_id": p, "quantity": q} for p, q in items or [("p1", 2)]],
            "shipping_address": ADDRESS, "payment": {"card_token": card}}


@dataclass
class Shop:
    orders: Orders
    fake: FakeParticipants
    clock: ManualClock
    projector: Projector | None = None  # sql_shop's only
    views: OrderViews | None = None

    @property
    def store(self) -> OrderRepository:
        return self.orders.store

    async def published(self) -> list[Envelope]:
        """Every envelope committed to the outbox, in order."""
        return await envelopes(self.orders.outbox)

    async def order(self, who: Principal, *items: tuple[str, int], card: str = "tok_ok",
                    settle: bool = True) -> str:
        """Place an order and (unless told) let its saga finish; returns its id."""
        placed = await self.orders.place_order(who, body(*items, card=card), None)
        if settle:
            await self.settle(placed.id)
        return placed.id

    async def settle(self, order_id: str) -> None:
        task = self.orders.runner.tasks.get(order_id)
        if task:
            await task

    async def cancel(self, who: Principal, order_id: str) -> None:
        await self.orders.cancel_order(who, order_id)
        await self.settle(order_id)

    def hold(self) -> asyncio.Event:
        """Keep the next orders pending: their reservation waits until the event is set."""
        release = asyncio.Event()
        self.fake.hooks["reserve_stock"] = release.wait
        return release


def start(store: OrderRepository, outbox: Outbox, clock: ManualClock) -> Shop:
    fake = FakeParticipants()
    runner = SagaRunner(store, fake, outbox, clock, max_attempts=3, backoff=0.0,
                        jitter=lambda cap: 0.0)
    ids = (f"order-{n}" for n in itertools.count(1))
    orders = Orders(store, runner, FakeCatalog(PRODUCTS), FakeCart(), clock,
                    lambda: next(ids), outbox)
    return Shop(orders, fake, clock)


def march_first() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
async def shop():
    """The shop on the in-memory repository and outbox: no database."""
    db, clock = MemoryDatabase(), march_first()
    outbox = MemoryOutbox(db, "orders", clock=clock)
    made = start(MemoryOrderRepository(db, outbox), outbox, clock)
    yield made
    await made.orders.runner.stop()


@pytest.fixture
async def sql_shop(service_db_for):
    """The shop on a migrated database, with its projector and read models."""
    db, clock = await service_db_for("orders"), march_first()
    store = SqlOrderRepository(db)
    made = start(store, Outbox(db, "orders", clock=clock), clock)
    # small batches, so that catching up takes several transactions
    made.projector = Projector(db, store.events, read_models(), batch=2, poll=60.0)
    made.views = OrderViews(db, store)
    yield made
    await made.orders.runner.stop()
    await made.projector.stop()


async def read_model_rows(shop: Shop) -> dict[str, list[dict]]:
    """Every row of every read-model table and the positions, in a stable order."""
    tables = [t for p in shop.projector.projections for t in p.tables]
    dump = {}
    for table in [*tables, "projection_positions"]:
        rows = await shop.store.db.fetch_all(f"SELECT * FROM {table}")
        dump[table] = sorted(rows, key=lambda r: sorted((k, str(v)) for k, v in r.items()))
    return dump

"""A consumer keeps consuming when handling one message fails outside the handler (an ack
that cannot reach the broker): that message is redelivered later, the next is handled."""

from __future__ import annotations

import asyncio

from mercato.chassis.messaging import Consumers, Subscription
from mercato.contracts.catalog import ProductCreated
from tests.support.messages import FakeMessage, envelope


class AckFails(FakeMessage):
    async def ack(self) -> None:
        raise ConnectionError("connection to the broker lost")


class OneBatch:
    def __init__(self, messages) -> None:
        self.batches = [messages]

    async def fetch(self, batch: int, timeout: float):
        if self.batches:
            return self.batches.pop()
        await asyncio.sleep(timeout)
        return []


async def test_a_failed_ack_does_not_stop_the_subscription(service_db_for):
    db = await service_db_for("inventory")
    handled: list[str] = []

    async def handler(tx, env, event) -> None:
        handled.append(env.id)

    sub = Subscription("products", (ProductCreated,), handler)
    consumers = Consumers("inventory", db, js=None, subscriptions=[sub])
    event = ProductCreated(product_id="p", sku="s", name="n", category="c", price=1,
                           currency="USD")
    first, second = envelope(event, "e1"), envelope(event, "e2")
    bad = AckFails(first.model_dump_json().encode(), first.subject)
    good = FakeMessage(second.model_dump_json().encode(), second.subject)
    task = asyncio.create_task(consumers._loop(sub, OneBatch([bad, good])))
    for _ in range(50):
        if good.acks:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    assert handled == ["e1", "e2"]
    assert good.acks == 1
    assert not task.done() or task.cancelled()

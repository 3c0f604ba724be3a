"""The broker loses its store (docs/chaos.md F4) under a running relay and consumer: the
relay notices, re-publishes what it had sent, the consumer's durable is made again, and
its inbox drops what it had handled; what is published afterwards flows. Against a real
nats-server stopped, its JetStream store deleted, and started again on the same port."""

from __future__ import annotations

import shutil

import nats
import pytest

from mercato.chassis.messaging import Consumers, Outbox, Relay, Subscription, ensure_streams
from tests.integration.messaging_kit import NatsServer, Pinged, eventually, messaging_db

pytestmark = pytest.mark.integration


async def record_effect(tx, envelope, event) -> None:
    await tx.execute("INSERT INTO effects (event_id, n) VALUES (?, ?)", envelope.id, event.n)


async def effects(db) -> list[int]:
    return [r["n"] for r in await db.fetch_all("SELECT n FROM effects ORDER BY rowid")]


async def publish(db, outbox, *numbers: int) -> None:
    async with db.transaction() as tx:
        for n in numbers:
            await outbox.add(tx, Pinged(n=n))


@pytest.mark.parametrize("restart_relay", [False, True])
async def test_a_lost_store_is_redriven_from_the_outbox_and_the_inbox_drops_duplicates(
        tmp_path, restart_relay):
    server = NatsServer(tmp_path / "nats")
    server.start()
    pub_db, sub_db = messaging_db(tmp_path / "pub.db"), messaging_db(tmp_path / "sub.db")
    outbox = Outbox(pub_db, "testsvc")
    relay = consumers = None

    async def reconnected():  # what the chassis Runtime does on reconnect
        relay.reconnected()
        consumers.reconnected()

    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                            reconnected_cb=reconnected)
    js = nc.jetstream()
    try:
        await ensure_streams(js, "testsvc")
        # the relay has not learnt how far the consumer got (it reads that every hour
        # here): it re-drives the whole retention, and the inbox drops what it had
        relay = Relay(outbox, js, poll=0.5, floor_every=3600)
        relay.start()
        consumers = Consumers("sub", sub_db, js, [Subscription("pings", (Pinged,), record_effect)])
        await consumers.start()
        await publish(pub_db, outbox, 1, 2, 3)
        assert await eventually(lambda: _count(sub_db, 3), 10)

        if restart_relay:  # the relay is down while the store is lost: it probes at start
            await relay.stop()
        server.stop()
        shutil.rmtree(server.store / "jetstream")
        server.start()
        if restart_relay:
            relay = Relay(outbox, js, poll=0.5, floor_every=3600)
            relay.start()
        await publish(pub_db, outbox, 4)

        assert await eventually(lambda: _count(sub_db, 4), 20)
        assert await eventually(lambda: _dropped(consumers, 3), 10)
        assert await effects(sub_db) == [1, 2, 3, 4]  # each once
        assert relay.guard.losses >= 1 and relay.guard.redriven >= 3
        assert consumers.durables.recreated == 1
        info = await js.stream_info("MERCATO_TESTSVC")
        assert info.state.messages >= 4  # the lost three again, and the new one
        assert await outbox.count_pending() == 0
    finally:
        if consumers:
            await consumers.stop()
        if relay:
            await relay.stop()
        await nc.close()
        server.stop()


async def test_after_every_consumer_acknowledged_a_loss_redrives_nothing_old(tmp_path):
    """The relay learnt that the consumer had 1-3 (its ack floor): the lost store costs
    no re-publish of them, no duplicate for the inbox, and a relay started afterwards
    finds the stream whole (its metadata: the rows it holds start after 3)."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    pub_db, sub_db = messaging_db(tmp_path / "pub.db"), messaging_db(tmp_path / "sub.db")
    outbox = Outbox(pub_db, "testsvc")
    relay = consumers = None

    async def reconnected():
        relay.reconnected()
        consumers.reconnected()

    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                            reconnected_cb=reconnected)
    js = nc.jetstream()
    try:
        await ensure_streams(js, "testsvc")
        relay = Relay(outbox, js, poll=0.5, floor_every=0.2)
        relay.start()
        consumers = Consumers("sub", sub_db, js, [Subscription("pings", (Pinged,), record_effect)])
        await consumers.start()
        await publish(pub_db, outbox, 1, 2, 3)
        assert await eventually(lambda: _count(sub_db, 3), 10)
        rows = [r["seq"] for r in await pub_db.fetch_all("SELECT seq FROM outbox")]
        assert await eventually(lambda: _consumed(relay, max(rows)), 10)

        server.stop()
        shutil.rmtree(server.store / "jetstream")
        server.start()
        await publish(pub_db, outbox, 4)
        assert await eventually(lambda: _count(sub_db, 4), 20)
        assert await effects(sub_db) == [1, 2, 3, 4]
        assert relay.guard.losses >= 1 and relay.guard.redriven == 0
        assert sum(consumers.duplicates.values()) == 0
        info = await js.stream_info("MERCATO_TESTSVC")
        assert info.state.messages == 1  # only the new one
        assert info.config.metadata["mercato.redriven_after"] == str(max(rows))

        await ensure_streams(js, "testsvc")  # the supervisor's set-up on a reconnect
        await relay.stop()
        relay = Relay(outbox, js, poll=0.5)  # a relay started afresh probes: no loss
        relay.start()
        await publish(pub_db, outbox, 5)
        assert await eventually(lambda: _count(sub_db, 5), 10)
        assert relay.guard.losses == 0 and relay.guard.redriven == 0
    finally:
        if consumers:
            await consumers.stop()
        if relay:
            await relay.stop()
        await nc.close()
        server.stop()


async def _consumed(relay: Relay, row: int) -> bool:
    return relay.guard.consumed >= row


async def _count(db, n: int) -> bool:
    return len(await effects(db)) >= n


async def _dropped(consumers: Consumers, n: int) -> bool:
    return sum(consumers.duplicates.values()) >= n

"""The broker loses its store (docs/chaos.md F4) under a running relay and consumer: the
relay notices, re-publishes what it had sent, the consumer's durable is made again, and
its inbox drops what it had handled; what is published afterwards flows. Against a real
nats-server stopped, its JetStream store deleted, and started again on the same port."""

from __future__ import annotations

import contextlib
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


class Rig:
    """A nats-server, a publisher's outbox and relay, a consumer: the pieces of the
    chassis Runtime that F4 concerns (``rig`` builds and stops them)."""

    def __init__(self, tmp_path) -> None:
        self.server = NatsServer(tmp_path / "nats")
        self.pub_db = messaging_db(tmp_path / "pub.db")
        self.sub_db = messaging_db(tmp_path / "sub.db")
        self.outbox = Outbox(self.pub_db, "testsvc")
        self.relay: Relay | None = None
        self.consumers: Consumers | None = None

    async def reconnected(self) -> None:  # what the chassis Runtime does on reconnect
        self.relay.reconnected()
        self.consumers.reconnected()

    def new_relay(self, floor_every: float) -> Relay:
        self.relay = Relay(self.outbox, self.js, poll=0.5, floor_every=floor_every)
        self.relay.start()
        return self.relay

    def lose_store(self) -> None:
        self.server.stop()
        shutil.rmtree(self.server.store / "jetstream")
        self.server.start()


@contextlib.asynccontextmanager
async def rig(tmp_path, floor_every: float):
    """A running rig whose consumer has handled 1, 2 and 3."""
    r = Rig(tmp_path)
    r.server.start()
    nc = await nats.connect(r.server.url, max_reconnect_attempts=-1,
                            reconnect_time_wait=0.2, reconnected_cb=r.reconnected)
    r.js = nc.jetstream()
    try:
        await ensure_streams(r.js, "testsvc")
        r.new_relay(floor_every)
        r.consumers = Consumers("sub", r.sub_db, r.js,
                                [Subscription("pings", (Pinged,), record_effect)])
        await r.consumers.start()
        await publish(r.pub_db, r.outbox, 1, 2, 3)
        assert await eventually(lambda: _count(r.sub_db, 3), 10)
        yield r
    finally:
        if r.consumers:
            await r.consumers.stop()
        if r.relay:
            await r.relay.stop()
        await nc.close()
        r.server.stop()


@pytest.mark.parametrize("restart_relay", [False, True])
async def test_a_lost_store_is_redriven_from_the_outbox_and_the_inbox_drops_duplicates(
        tmp_path, restart_relay):
    # the relay has not learnt how far the consumer got (it reads that every hour here):
    # it re-drives the whole retention, and the inbox drops what it had
    async with rig(tmp_path, floor_every=3600) as r:
        if restart_relay:  # the relay is down while the store is lost: it probes at start
            await r.relay.stop()
        r.lose_store()
        if restart_relay:
            r.new_relay(floor_every=3600)
        await publish(r.pub_db, r.outbox, 4)

        assert await eventually(lambda: _count(r.sub_db, 4), 20)
        assert await eventually(lambda: _dropped(r.consumers, 3), 10)
        assert await effects(r.sub_db) == [1, 2, 3, 4]  # each once
        assert r.relay.guard.losses >= 1 and r.relay.guard.redriven >= 3
        assert r.consumers.durables.recreated == 1
        info = await r.js.stream_info("MERCATO_TESTSVC")
        assert info.state.messages >= 4  # the lost three again, and the new one
        assert await r.outbox.count_pending() == 0


async def test_after_every_consumer_acknowledged_a_loss_redrives_nothing_old(tmp_path):
    """The relay learnt that the consumer had 1-3 (its ack floor): the lost store costs
    no re-publish of them, no duplicate for the inbox, and a relay started afterwards
    finds the stream whole (its metadata: the rows it holds start after 3)."""
    async with rig(tmp_path, floor_every=0.2) as r:
        rows = [row["seq"] for row in await r.pub_db.fetch_all("SELECT seq FROM outbox")]
        assert await eventually(lambda: _consumed(r.relay, max(rows)), 10)

        r.lose_store()
        await publish(r.pub_db, r.outbox, 4)
        assert await eventually(lambda: _count(r.sub_db, 4), 20)
        assert await effects(r.sub_db) == [1, 2, 3, 4]
        assert r.relay.guard.losses >= 1 and r.relay.guard.redriven == 0
        assert sum(r.consumers.duplicates.values()) == 0
        info = await r.js.stream_info("MERCATO_TESTSVC")
        assert info.state.messages == 1  # only the new one
        assert info.config.metadata["mercato.redriven_after"] == str(max(rows))

        await ensure_streams(r.js, "testsvc")  # the supervisor's set-up on a reconnect
        await r.relay.stop()
        relay = r.new_relay(floor_every=5.0)  # a relay started afresh probes: no loss
        await publish(r.pub_db, r.outbox, 5)
        assert await eventually(lambda: _count(r.sub_db, 5), 10)
        assert relay.guard.losses == 0 and relay.guard.redriven == 0


async def _consumed(relay: Relay, row: int) -> bool:
    return relay.guard.consumed >= row


async def _count(db, n: int) -> bool:
    return len(await effects(db)) >= n


async def _dropped(consumers: Consumers, n: int) -> bool:
    return sum(consumers.duplicates.values()) >= n

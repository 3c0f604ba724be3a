"""Outbox -> relay -> JetStream -> consumer with inbox, against a real NATS server."""

from __future__ import annotations

import nats
import pytest

from mercato.chassis.messaging import Consumers, Outbox, Relay, Subscription, ensure_streams
from tests.integration.messaging_kit import NatsServer, Pinged, eventually, messaging_db

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path):
    s = NatsServer(tmp_path / "nats")
    s.start()
    yield s
    s.stop()


async def record_effect(tx, envelope, event) -> None:
    await tx.execute("INSERT INTO effects (event_id, n) VALUES (?, ?)", envelope.id, event.n)


async def effects(db) -> list[tuple[str, int]]:
    rows = await db.fetch_all("SELECT event_id, n FROM effects ORDER BY rowid")
    return [(r["event_id"], r["n"]) for r in rows]


async def publish(db, outbox, *numbers: int) -> list[str]:
    ids = []
    async with db.transaction() as tx:
        for n in numbers:
            ids.append((await outbox.add(tx, Pinged(n=n))).id)
    return ids


async def test_committed_events_are_published_in_order_and_consumed_once(server, tmp_path):
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    pub_db, sub_db = messaging_db(tmp_path / "pub.db"), messaging_db(tmp_path / "sub.db")
    outbox = Outbox(pub_db, "testsvc")
    await ensure_streams(js, "testsvc")
    relay = Relay(outbox, js, poll=5.0)
    relay.start()
    consumers = Consumers("sub", sub_db, js, [Subscription("pings", (Pinged,), record_effect)])
    await consumers.start()
    ids = await publish(pub_db, outbox, 1, 2, 3)

    async def all_seen():
        return len(await effects(sub_db)) == 3

    assert await eventually(all_seen, 5.0)  # well before the 5 s poll: woken by the commit
    assert await effects(sub_db) == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]
    assert await outbox.count_pending() == 0
    await consumers.stop()
    await relay.stop()
    await nc.close()


async def test_a_rolled_back_transaction_publishes_nothing(server, tmp_path):
    nc = await nats.connect(server.url)
    db = messaging_db(tmp_path / "pub.db")
    outbox = Outbox(db, "testsvc")
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await outbox.add(tx, Pinged(n=1))
            raise RuntimeError("the handler failed")
    assert await outbox.count_pending() == 0
    assert not outbox.wakeup.is_set()
    await nc.close()


async def test_the_same_event_delivered_twice_has_one_effect(server, tmp_path):
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js, "testsvc")
    db = messaging_db(tmp_path / "sub.db")
    consumers = Consumers("sub", db, js, [Subscription("pings", (Pinged,), record_effect)])
    await consumers.start()
    pub_db = messaging_db(tmp_path / "pub.db")
    outbox = Outbox(pub_db, "testsvc")
    await publish(pub_db, outbox, 7)
    row = (await outbox.pending(1))[0]
    # the same envelope twice, under two message ids, so the broker's dedup cannot help
    for msg_id in ("first", "second"):
        await js.publish(row["subject"], bytes(row["body"]), headers={"Nats-Msg-Id": msg_id})

    async def handled_both():
        return consumers.handled >= 2

    assert await eventually(handled_both)
    assert [n for _, n in await effects(db)] == [7]
    assert consumers.duplicates == {"sub__pings": 1}  # seen, counted, no second effect
    await consumers.stop()
    await nc.close()


async def test_the_relay_rides_out_a_broker_outage(server, tmp_path):
    pub_db, sub_db = messaging_db(tmp_path / "pub.db"), messaging_db(tmp_path / "sub.db")
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await ensure_streams(js, "testsvc")
    outbox = Outbox(pub_db, "testsvc")
    relay = Relay(outbox, js, poll=0.2, ack_timeout=0.5, max_backoff=0.5)
    relay.start()
    await publish(pub_db, outbox, 1)

    async def first_sent():
        return await outbox.count_pending() == 0

    assert await eventually(first_sent)
    server.stop()
    await publish(pub_db, outbox, 2, 3)  # committed while the broker is down
    import asyncio

    await asyncio.sleep(1.5)
    assert await outbox.count_pending() == 2  # not marked sent without an ack
    server.start()

    async def rest_sent():
        return await outbox.count_pending() == 0

    assert await eventually(rest_sent, 20)
    consumers = Consumers("sub", sub_db, js, [Subscription("pings", (Pinged,), record_effect)])
    await consumers.start()

    async def all_consumed():
        return len(await effects(sub_db)) == 3

    assert await eventually(all_consumed, 10)
    assert [n for _, n in await effects(sub_db)] == [1, 2, 3]
    await consumers.stop()
    await relay.stop()
    await nc.close()

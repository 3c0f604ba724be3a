"""Dead letters end to end on a real NATS server: a poison message exhausts its retries in
the chassis' Consumers, lands in MERCATO_DLQ with its error, is listed, and once its cause
is fixed a replay delivers it so the failed consumer's effect happens exactly once, while a
consumer that handled it the first time skips it by its inbox. Then the same through the
`mercato dlq` commands, run as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import nats
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import create_engine, text

from mercato.chassis.clock import iso, new_id, utc_now
from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.messaging import (
    Consumers,
    Subscription,
    ensure_streams,
    replay_dead_letter,
)
from mercato.chassis.messaging.schema import create_inbox_table
from mercato.cli.dlq import dead_letters
from mercato.contracts.envelope import Envelope, Event

pytestmark = pytest.mark.integration
MAX_ATTEMPTS = 3


class ParcelBooked(Event):
    """A test event for the chassis-level test."""

    SOURCE = "dlqchassis"
    parcel_id: str


class ParcelLost(Event):
    """A test event for the command-line test."""

    SOURCE = "dlqcli"
    parcel_id: str


def consumer_db(path: Path) -> SqliteDatabase:
    """A service database as its migrations would leave it: the inbox, and an effects
    table standing for whatever the handler changes."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        create_inbox_table(Operations(MigrationContext.configure(conn)))
        conn.execute(text("CREATE TABLE effects (event_id TEXT NOT NULL, parcel_id TEXT)"))
    engine.dispose()
    return SqliteDatabase(path)


class FlakyHandler:
    """Raises until its cause is fixed; then records one effect per call."""

    def __init__(self, broken: bool) -> None:
        self.broken = broken
        self.calls = 0

    async def __call__(self, tx, envelope: Envelope, event) -> None:
        self.calls += 1
        if self.broken:
            raise RuntimeError("mail relay refused the connection")
        await tx.execute("INSERT INTO effects (event_id, parcel_id) VALUES (?, ?)",
                         envelope.id, event.parcel_id)


async def effects(db: SqliteDatabase) -> list[tuple[str, str]]:
    rows = await db.fetch_all("SELECT event_id, parcel_id FROM effects ORDER BY rowid")
    return [(r["event_id"], r["parcel_id"]) for r in rows]


async def publish(js, event: Event) -> Envelope:
    envelope = Envelope(id=new_id(), type=event.type_name(), source=event.SOURCE,
                        occurred_at=iso(utc_now()), correlation_id="req-42",
                        payload=event.model_dump(mode="json"))
    await js.publish(envelope.subject, envelope.model_dump_json().encode(),
                     headers={"Nats-Msg-Id": envelope.id})
    return envelope


async def eventually(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(await predicate())


async def letters_of(js, consumer: str):
    return [d for d in await dead_letters(js, 100) if d.consumer == consumer]


class Setup:
    """Two services consuming the same event: a mailer (poisoned) and an audit.

    Each test names its own mailer: the chassis dead-letters under the message id
    ``<consumer>:<stream seq>``, so one consumer name on two streams of the same server
    would collide within the DLQ's duplicate window."""

    def __init__(self, js, tmp_path: Path, event_type: type[Event], mailer: str) -> None:
        self.durable = f"{mailer}__parcels"
        self.mailer_db = consumer_db(tmp_path / "mailer.db")
        self.audit_db = consumer_db(tmp_path / "audit.db")
        self.mail = FlakyHandler(broken=True)
        self.audit = FlakyHandler(broken=False)
        self.consumers = [
            Consumers(mailer, self.mailer_db, js, [Subscription(
                "parcels", (event_type,), self.mail, max_attempts=MAX_ATTEMPTS)],
                backoff=(0.05,)),
            Consumers("audit", self.audit_db, js, [Subscription(
                "parcels", (event_type,), self.audit, max_attempts=MAX_ATTEMPTS)],
                backoff=(0.05,)),
        ]

    async def start(self) -> None:
        for c in self.consumers:
            await c.start()

    async def stop(self) -> None:
        for c in self.consumers:
            await c.stop()
        await self.mailer_db.close()
        await self.audit_db.close()


async def test_a_poison_message_is_dead_lettered_and_a_replay_after_the_fix_acts_once(
        nats_url, tmp_path):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, ParcelBooked.SOURCE)
    s = Setup(js, tmp_path, ParcelBooked, "mailer")
    await s.start()
    try:
        sent = await publish(js, ParcelBooked(parcel_id="p-1"))

        async def dead_lettered():
            return bool(await letters_of(js, "mailer__parcels"))

        assert await eventually(dead_lettered)
        [letter] = await letters_of(js, "mailer__parcels")
        assert letter.event_id == sent.id
        assert letter.event_type == "ParcelBooked"
        assert letter.subject == "mercato.dlqchassis.ParcelBooked"
        assert letter.attempts == MAX_ATTEMPTS
        assert letter.error == "RuntimeError: mail relay refused the connection"
        assert Envelope.model_validate_json(letter.data) == sent  # the original, intact
        assert s.mail.calls == MAX_ATTEMPTS  # tried, then given up: no endless redelivery
        assert await effects(s.mailer_db) == []
        assert await effects(s.audit_db) == [(sent.id, "p-1")]
        info = await js.consumer_info("MERCATO_DLQCHASSIS", "mailer__parcels")
        assert (info.num_pending, info.num_ack_pending) == (0, 0)  # acked once dead-lettered

        s.mail.broken = False  # the cause is fixed
        replayed = await replay_dead_letter(js, letter.seq)
        assert replayed.event_id == sent.id

        async def mailed():
            return bool(await effects(s.mailer_db))

        assert await eventually(mailed)

        await asyncio.sleep(1.0)  # time enough for a wrongly broadcast replay to arrive
        # the replay went to the consumer that gave up, and to no other
        assert (s.audit.calls, s.consumers[1].handled) == (1, 1)
        await asyncio.sleep(0.3)  # room for any duplicate to show up
        assert await effects(s.mailer_db) == [(sent.id, "p-1")]
        assert await effects(s.audit_db) == [(sent.id, "p-1")]
        assert await letters_of(js, "mailer__parcels") == []
        with pytest.raises(LookupError):
            await replay_dead_letter(js, letter.seq)  # replayed once; gone from the DLQ
    finally:
        await s.stop()
        await nc.close()


async def mercato(data_dir: Path, *args: str) -> tuple[int, str, str]:
    """Run the command line as a user does, against the platform recorded in data_dir."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mercato", *args,
        env=dict(os.environ, MERCATO_DATA_DIR=str(data_dir), COLUMNS="200"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_the_dlq_commands_list_and_replay_a_dead_letter(nats_url, tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "run").mkdir(parents=True)
    (data_dir / "run" / "state.json").write_text(json.dumps(
        {"pid": os.getpid(), "nats_url": nats_url, "gateway_url": "http://127.0.0.1:1"}))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, ParcelLost.SOURCE)
    s = Setup(js, tmp_path, ParcelLost, "courier")
    await s.start()
    try:
        sent = await publish(js, ParcelLost(parcel_id="p-9"))

        async def dead_lettered():
            return bool(await letters_of(js, s.durable))

        assert await eventually(dead_lettered)
        [letter] = await letters_of(js, s.durable)

        code, out, _ = await mercato(data_dir, "dlq", "list")
        assert code == 0
        row = next(line for line in out.splitlines() if sent.id in line)
        assert str(letter.seq) in row.split()
        for expected in (s.durable, "ParcelLost", f" {MAX_ATTEMPTS} ",
                         "RuntimeError: mail relay refused the connection"):
            assert expected in row

        code, out, err = await mercato(data_dir, "dlq", "replay", "987654")
        assert code == 1
        assert "no dead letter with sequence 987654" in out + err
        assert len(await letters_of(js, s.durable)) == 1  # nothing touched

        s.mail.broken = False
        code, out, _ = await mercato(data_dir, "dlq", "replay", str(letter.seq))
        assert code == 0, out
        assert sent.id in out

        async def mailed():
            return bool(await effects(s.mailer_db))

        assert await eventually(mailed)
        await asyncio.sleep(0.3)
        assert await effects(s.mailer_db) == [(sent.id, "p-9")]
        assert await effects(s.audit_db) == [(sent.id, "p-9")]
        code, out, _ = await mercato(data_dir, "dlq", "list")
        assert code == 0 and sent.id not in out
    finally:
        await s.stop()
        await nc.close()


async def test_the_dlq_commands_say_when_the_platform_is_not_running(tmp_path):
    code, out, err = await mercato(tmp_path, "dlq", "list")
    assert code == 1
    assert "not running" in out + err
    assert "Traceback" not in out + err


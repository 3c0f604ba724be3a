"""bench_messaging's shared pieces: the event it sends, the sizes and batches, the marker
lines its children print, and the databases, stream and messages both sides use."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import time
import uuid
from pathlib import Path

from mercato.contracts.envelope import Event

HOST = "127.0.0.1"
SOURCE = "benchmsg"
ENVELOPE_BYTES = 300
RELAY_BATCH = 200  # Relay's default batch: the baseline pipelines the same way
FETCH_BATCH = 64  # Consumers' default batch
READY, LOADED, T0, T1, RESULT = "READY", "LOADED", "T0", "T1", "RESULT "
CONSUMER_SERVICE = "benchsub"


class BenchEvent(Event):
    """The benchmark's event: a sequence number, the send time, padding to ~300 bytes."""

    SOURCE = SOURCE
    n: int
    t: float
    pad: str = ""


def log(msg: str) -> None:
    """A progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN of no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def emit(line: str) -> None:
    """A line on stdout, flushed at once (the parent reads marker lines from it)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def make_templates(root: Path) -> None:
    """The publisher's and the consumer's databases with the chassis' tables, created
    through Alembic operations as a service's migration does. Made once, in the parent;
    every run starts from a copy."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import create_engine, text

    from mercato.chassis.messaging.schema import (
        add_outbox_traceparent,
        create_inbox_table,
        create_outbox_table,
    )

    for name, outbox in (("publisher.db", True), ("consumer.db", False)):
        engine = create_engine(f"sqlite:///{root / name}")
        with engine.begin() as conn:
            op = Operations(MigrationContext.configure(conn))
            if outbox:
                create_outbox_table(op)
                add_outbox_traceparent(op)
            else:
                create_inbox_table(op)
                conn.execute(text("CREATE TABLE effects (event_id TEXT NOT NULL, n INTEGER)"))
        engine.dispose()


def open_db(templates: Path, run_dir: Path, name: str):
    """A copy of a template database, opened with the chassis' adapter (WAL,
    synchronous=NORMAL, sqlite3 on the event loop)."""
    try:  # the chassis' database module, wherever this revision keeps it
        from mercato.chassis.data.db import SqliteDatabase
    except ImportError:
        from mercato.chassis.db import SqliteDatabase

    shutil.copyfile(templates / name, run_dir / name)
    return SqliteDatabase(run_dir / name)


def reset_stream(port: int) -> None:
    """Delete the benchmark's stream and create it again with `ensure_streams`."""
    import nats
    from nats.js.errors import NotFoundError

    from mercato.chassis.messaging import ensure_streams
    from mercato.contracts.envelope import stream_for

    async def reset() -> None:
        nc = await nats.connect(f"nats://{HOST}:{port}", max_reconnect_attempts=1)
        try:
            js = nc.jetstream()
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream_for(SOURCE))
            await ensure_streams(js, SOURCE)
        finally:
            await nc.close()

    asyncio.run(reset())


def padding(kind: str) -> str:
    """Padding that brings this variant's envelope to about ENVELOPE_BYTES of JSON."""
    size = len(raw_body(str(uuid.uuid4()), 123456, time.time(), "")) if kind == "raw" else (
        len(mercato_sample().model_dump_json()))
    return "x" * max(0, ENVELOPE_BYTES - size)


def mercato_sample():
    """An Envelope of a BenchEvent as the Outbox makes it (to size the padding)."""
    from mercato.chassis.clock import iso, new_id, utc_now
    from mercato.contracts.envelope import Envelope

    event = BenchEvent(n=123456, t=time.time())
    return Envelope(id=new_id(), type=event.type_name(), version=event.VERSION, source=SOURCE,
                    occurred_at=iso(utc_now()), payload=event.model_dump(mode="json"))


def raw_body(event_id: str, n: int, t: float, pad: str) -> bytes:
    """The baseline's message: the same envelope fields, serialized with the stdlib."""
    return json.dumps({
        "id": event_id, "type": "BenchEvent", "version": 1, "source": SOURCE,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z",
        "correlation_id": None, "causation_id": None, "traceparent": None,
        "payload": {"n": n, "t": t, "pad": pad},
    }).encode()


def consumer_config(durable: str, subjects: list[str]):
    """The ConsumerConfig of `Consumers.start`, for the baseline's consumer."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    return ConsumerConfig(durable_name=durable, name=durable, filter_subjects=subjects,
                          ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                          ack_wait=30.0, max_deliver=-1, max_ack_pending=1000)


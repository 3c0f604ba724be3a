"""bench_messaging --what-if: chassis changes prototyped by subclassing and configuring the
chassis (src/ is untouched), to measure what they would give."""

from __future__ import annotations

import threading
import time

#
# --what-if adds two variants with changes to the chassis, prototyped here by subclassing
# and configuring it (src/ is untouched), to measure what they would give:
#   (b') change 2 alone; (b'') changes 1 and 2.
#   1. Consumers: one SQLite transaction per fetched batch instead of one per message,
#      a SAVEPOINT per message (a failing handler rolls back only its own message, which
#      then takes the chassis' usual path: retry with backoff, dead letter), then the acks.
#   2. SqliteDatabase: WAL checkpoints off the event loop: wal_autocheckpoint=0 on the
#      loop's connection, and a thread with its own connection running a PASSIVE
#      checkpoint every 100 ms (the loop otherwise runs them inside a COMMIT, fdatasync
#      included, every ~1000 WAL pages).


def checkpoint_off_the_loop(db) -> None:
    """Change 2: WAL checkpoints by a thread with its own connection, not the loop."""
    import sqlite3

    db._conn.execute("PRAGMA wal_autocheckpoint=0")
    path = db.path

    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=5000")
        while True:
            time.sleep(0.1)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    threading.Thread(target=run, name="checkpointer", daemon=True).start()


def batched_consumers():
    """Change 1: a Consumers subclass handling one fetch's messages in one transaction."""
    from nats.errors import TimeoutError as NatsTimeout
    from pydantic import ValidationError

    from mercato.chassis.clock import iso, utc_now
    from mercato.chassis.context import request_id_var
    from mercato.chassis.messaging import Consumers
    from mercato.contracts.envelope import Envelope

    class BatchedConsumers(Consumers):
        """Prototype: the messages of one fetch share one transaction."""

        async def _loop(self, sub, psub) -> None:
            while True:
                try:
                    messages = await psub.fetch(self.batch, timeout=1.0)
                except (NatsTimeout, TimeoutError):
                    continue
                await self.handle_batch(sub, messages)

        async def handle_batch(self, sub, messages) -> None:
            consumer = self.durable(sub)
            readable, done, failed = [], [], []
            for msg in messages:
                try:
                    envelope = Envelope.model_validate_json(msg.data)
                    event_type = next(e for e in sub.events if e.type_name() == envelope.type)
                    readable.append((msg, envelope, event_type.model_validate(envelope.payload)))
                except (ValidationError, ValueError, StopIteration):
                    failed.append(msg)  # the chassis' path dead-letters it
            async with self.db.transaction() as tx:
                for msg, envelope, event in readable:
                    request_id_var.set(envelope.correlation_id or envelope.id)
                    await tx.execute("SAVEPOINT message")
                    try:
                        fresh = await tx.execute(
                            "INSERT INTO inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)"
                            " ON CONFLICT (consumer, event_id) DO NOTHING",
                            consumer, envelope.id, iso(utc_now()))
                        if fresh:
                            await sub.handler(tx, envelope, event)
                    except Exception:
                        await tx.execute("ROLLBACK TO message")
                        failed.append(msg)
                    else:
                        done.append(msg)
                    await tx.execute("RELEASE message")
            for msg in done:
                await msg.ack()
                self.handled += 1
            for msg in failed:
                await self.handle(sub, msg)

    return BatchedConsumers



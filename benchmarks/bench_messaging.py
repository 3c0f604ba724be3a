"""Benchmark: what does the reliable-messaging path cost against raw JetStream?

Same machine, same run, same broker settings. Two nats-servers run side by side on free
ports of 127.0.0.1, each with its own store in a temp dir:

  always    started from `mercato.cli.nats_server.nats_command` (the platform's config:
            `jetstream { sync_interval: always }`, fsync before every PubAck)
  default   the same configuration text without the `sync_interval` line (JetStream's
            default: the PubAck comes before the fsync, which happens every 2 minutes)

Variants, each against each server, interleaved over --rounds rounds (medians reported;
ratios are the median of the ratios within each round, whose runs are next to each other
in time and so share the machine's noise):

  (a) raw JetStream (baseline): a publisher process publishes N envelopes (~300 bytes of
      JSON, header Nats-Msg-Id) with `js.publish`, pipelined as the Relay does it (a batch
      of 200 publishes started together, then their acks awaited in order); a consumer
      process fetches batches of 64 from a durable pull consumer and acks each message.
  (b) Mercato: in the publisher process a producer task commits N events through
      `Outbox.add`, one event per SQLite transaction (as a request would; `--per-tx` adds
      a 10-events-per-transaction variant by default), yielding to the loop between
      transactions; the real `Relay` publishes them. In the consumer process the real
      `Consumers` handles them: inbox row + a handler inserting one row, in one SQLite
      transaction, then the ack.

Both variants use the stream of `ensure_streams` (file storage, duplicate window) and a
durable consumer configured as `Consumers` configures it (explicit ack, max_ack_pending
1000, batch 64). Publisher, consumer and nats-server are three processes on the same
cores, as two services and the broker are under `mercato up`; all SQLite files use the
chassis' `SqliteDatabase` (WAL, synchronous=NORMAL) in the temp dir, copied for each run
from templates made once through Alembic operations, as a service's migration makes them.
The stream is deleted and recreated before every run, both children start together and
the publisher begins once the consumer is ready.

Each run has two phases:

  1. throughput: N events as fast as the publisher side goes. events/s = N / (time the
     consumer finished the last one - time the first was committed/published). Latencies
     in this phase are mostly queueing behind the backlog (reported as "loaded").
  2. latency: after the consumer has drained phase 1, events at a fixed --rate (the same
     for every variant) for --paced-seconds; p50/p99 of commit (b) or publish (a) ->
     consumer commit (b) or ack (a). The send time travels in the payload; both processes
     read the same wall clock. For (b) it is read as the producer's transaction starts.

A second table shows where phase 1 went: when the last event was committed, acked by the
broker and consumed (which stage held the others back), the average publish batch and
fetch sizes, and how much of the phase each process ran on a CPU or waited for one. CPU
time per event of the publisher, consumer and nats-server comes from /proc/<pid>/stat; on
a machine whose cores are saturated, "x (a) by CPU" (the ratio of total CPU per event)
predicts the events/s ratio and moves much less from run to run than events/s.

--py-spy PREFIX adds one more (b) run per server under py-spy (publisher and consumer
sampled during phase 1, native frames included) and prints where their time goes.
--what-if adds variants with chassis changes prototyped in this script (the source of
src/ is not touched): see the what-if section below.

Every child process is stopped in a `finally` block (SIGTERM and Ctrl-C included) and
gets SIGTERM from Linux if this script dies outright.

Run:  python benchmarks/bench_messaging.py            (about 50 s on an idle 2-core box,
                                                       up to twice that when it is busy)
      python benchmarks/bench_messaging.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from _load import die_with_parent, end_process, load_average, proc_cpu_seconds
from _platform import run_main
from _profile import _frame_name, print_top_inclusive, py_spy_executable, user_system_seconds

from mercato.cli.nats_server import free_port, nats_binary, nats_command, nats_config
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
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# =========================================================================== child side
#
# `bench_messaging.py --child ROLE ...` runs one side of one run. It prints marker lines
# on stdout (READY, LOADED, T0 and T1 around phase 1, RESULT <json>); the parent passes
# anything else it prints on to stderr. The publisher starts phase 1 when it reads "go" on stdin.


def emit(line: str) -> None:
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


def runq_wait_seconds(pid: int) -> float | None:
    """Seconds the process's main thread has spent runnable but waiting for a CPU."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def padding(kind: str) -> str:
    """Padding that brings this variant's envelope to about ENVELOPE_BYTES of JSON."""
    size = len(raw_body(str(uuid.uuid4()), 123456, time.time(), "")) if kind == "raw" else (
        len(mercato_sample().model_dump_json()))
    return "x" * max(0, ENVELOPE_BYTES - size)


def mercato_sample():
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


class Recorder:
    """Consumer side: latency of every event, and when phase 1 (events 0..n-1) ended."""

    def __init__(self, n: int, total: int) -> None:
        self.n, self.total = n, total
        self.seen = bytearray(total)
        self.count = self.count1 = 0
        self.loaded: list[float] = []
        self.paced: list[float] = []
        self.t_first = self.t_phase1 = 0.0
        self.phase1_done = asyncio.Event()
        self.all_done = asyncio.Event()

    def record(self, n: int, sent: float) -> None:
        now = time.time()
        if self.seen[n]:
            return
        self.seen[n] = 1
        self.count += 1
        if n < self.n:
            if not self.t_first:
                self.t_first = now
            self.loaded.append(now - sent)
            self.count1 += 1
            if self.count1 == self.n:
                self.t_phase1 = now
                self.phase1_done.set()
        else:
            self.paced.append(now - sent)
        if self.count == self.total:
            self.all_done.set()


# --------------------------------------------------------------------------- what-if
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


async def child_consumer(args, nc, js) -> None:
    from mercato.contracts.envelope import stream_for

    rec = Recorder(args.n, args.n + args.paced)

    async def tell_publisher() -> None:
        await rec.phase1_done.wait()
        await nc.publish(f"benchctl.{args.token}", json.dumps({"t": rec.t_phase1}).encode())
        await nc.flush()

    signal_task = asyncio.create_task(tell_publisher())
    fetches = [0]  # fetches that returned messages, in phase 1

    def count_fetches(psub) -> None:
        fetch = psub.fetch

        async def counted(*a, **kw):
            messages = await fetch(*a, **kw)
            if not rec.phase1_done.is_set():
                fetches[0] += 1
            return messages

        psub.fetch = counted

    stop = None
    if args.child == "raw-sub":
        durable = f"{CONSUMER_SERVICE}__raw"
        await js.add_consumer(stream_for(SOURCE),
                              config=consumer_config(durable, [BenchEvent.subject()]))
        psub = await js.pull_subscribe_bind(durable=durable, stream=stream_for(SOURCE))
        count_fetches(psub)

        async def consume() -> None:
            while True:
                try:
                    messages = await psub.fetch(FETCH_BATCH, timeout=1.0)
                except TimeoutError:  # nats' TimeoutError is asyncio's, i.e. this one
                    continue
                for msg in messages:
                    payload = json.loads(msg.data)["payload"]
                    await msg.ack()
                    rec.record(payload["n"], payload["t"])

        task = asyncio.create_task(consume())

        async def stop() -> None:  # as the chassis' stop_tasks: cancel until it ends
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.2)
    else:
        from mercato.chassis.messaging import Consumers, Subscription

        db = open_db(Path(args.templates), Path(args.dir), "consumer.db")

        async def handler(tx, envelope, event: BenchEvent) -> None:
            await tx.execute("INSERT INTO effects (event_id, n) VALUES (?, ?)",
                             envelope.id, event.n)
            tx.on_commit(lambda: rec.record(event.n, event.t))

        bind = js.pull_subscribe_bind

        async def counted_bind(*a, **kw):
            psub = await bind(*a, **kw)
            count_fetches(psub)
            return psub

        js.pull_subscribe_bind = counted_bind  # the benchmark's counter, nothing else
        kind = Consumers
        if "checkpoint" in args.changes:
            checkpoint_off_the_loop(db)
        if "batch-tx" in args.changes:
            kind = batched_consumers()
        consumers = kind(CONSUMER_SERVICE, db, js,
                         [Subscription("events", (BenchEvent,), handler)], batch=FETCH_BATCH)
        await consumers.start()
        stop = consumers.stop
    emit(READY)
    try:
        async with asyncio.timeout(args.timeout):
            await rec.all_done.wait()
    finally:
        await stop()
        signal_task.cancel()
    emit(RESULT + json.dumps({
        "t_first": rec.t_first, "t_phase1": rec.t_phase1,
        "loaded_p50": percentile(rec.loaded, 0.5), "loaded_p99": percentile(rec.loaded, 0.99),
        "paced_p50": percentile(rec.paced, 0.5), "paced_p99": percentile(rec.paced, 0.99),
        "paced_n": len(rec.paced), "fetches": fetches[0],
    }))


async def child_publisher(args, nc, js) -> None:
    drained: asyncio.Future = asyncio.get_running_loop().create_future()

    async def on_drained(msg) -> None:
        if not drained.done():
            drained.set_result(json.loads(msg.data)["t"])

    await nc.subscribe(f"benchctl.{args.token}", cb=on_drained)
    await nc.flush()
    watch = [os.getpid(), *(int(p) for p in args.watch.split(",") if p)]
    pad = padding("raw" if args.child == "raw-pub" else "mercato")
    batches = [0]  # publish batches (relay rounds that sent something) in phase 1
    total = args.n + args.paced
    interval = args.per_tx / args.rate  # phase 2: one transaction (or publish) per interval

    if args.child == "raw-pub":
        ack_timeout = 5.0

        def publish(n: int):
            event_id = str(uuid.uuid4())
            return asyncio.ensure_future(js.publish(
                BenchEvent.subject(), raw_body(event_id, n, time.time(), pad),
                timeout=ack_timeout, headers={"Nats-Msg-Id": event_id}))

        async def phase1() -> float:
            for start in range(0, args.n, RELAY_BATCH):
                batches[0] += 1
                batch = [publish(n) for n in range(start, min(args.n, start + RELAY_BATCH))]
                for fut in batch:
                    await fut
            return time.time()

        async def phase2() -> None:
            futures = []
            begin = time.monotonic()
            for k, n in enumerate(range(args.n, total)):
                delay = begin + k * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                futures.append(publish(n))
            await asyncio.gather(*futures)

        cleanup = None
    else:
        from mercato.chassis.messaging import Outbox, Relay

        db = open_db(Path(args.templates), Path(args.dir), "publisher.db")
        outbox = Outbox(db, SOURCE)
        progress = asyncio.Event()
        if "checkpoint" in args.changes:
            checkpoint_off_the_loop(db)

        class WatchedRelay(Relay):
            """The real Relay; each batch also wakes whoever waits for its progress."""

            async def publish_pending(self) -> int:
                sent = await super().publish_pending()
                if sent:
                    if self.published <= args.n:
                        batches[0] += 1
                    progress.set()
                return sent

        relay = WatchedRelay(outbox, js)
        relay.start()

        async def commit(first: int) -> None:
            async with db.transaction() as tx:
                t = time.time()
                for n in range(first, min(total, first + args.per_tx)):
                    await outbox.add(tx, BenchEvent(n=n, t=t, pad=pad))

        async def relay_reached(count: int) -> None:
            while relay.published < count:
                progress.clear()
                await progress.wait()

        async def phase1() -> float:
            for first in range(0, args.n, args.per_tx):
                await commit(first)
                await asyncio.sleep(0)  # a request handler returns to the loop
            result["t_commits_done"] = time.time()
            await relay_reached(args.n)
            return time.time()

        async def phase2() -> None:
            begin = time.monotonic()
            for k, first in enumerate(range(args.n, total, args.per_tx)):
                delay = begin + k * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await commit(first)
            await relay_reached(total)

        cleanup = relay.stop

    result: dict = {}
    try:
        async with asyncio.timeout(args.timeout):
            emit(LOADED)  # then wait for the parent's go: the consumer is ready. (Blocking
            go = sys.stdin.readline()  # the loop: nothing is under way yet; no extra thread.)
            if go.strip() != "go":
                raise RuntimeError(f"expected 'go' on stdin, got {go!r}")
            cpu0 = [proc_cpu_seconds(p) for p in watch]
            wait0 = [runq_wait_seconds(p) for p in watch[:2]]
            t0 = time.time()
            emit(T0)
            result["t_published"] = await phase1()
            result["t_drained"] = await drained
            emit(T1)
            cpu1 = [proc_cpu_seconds(p) for p in watch]
            wait1 = [runq_wait_seconds(p) for p in watch[:2]]
            await phase2()
    finally:
        if cleanup:
            await cleanup()
    result.update(t0=t0, batches=batches[0], cpu=[None if a is None or b is None else b - a
                              for a, b in zip(cpu0, cpu1, strict=True)],
                  runq_wait=[None if a is None or b is None else b - a
                             for a, b in zip(wait0, wait1, strict=True)])
    emit(RESULT + json.dumps(result))


async def child_main(args) -> None:
    import nats

    nc = await nats.connect(f"nats://{HOST}:{args.port}", max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        if args.child.endswith("-sub"):
            await child_consumer(args, nc, js)
        else:
            await child_publisher(args, nc, js)
    finally:
        await nc.close()


def run_child(args) -> None:
    # The chassis logs with structlog; keep its output off stdout, which carries markers.
    import structlog
    import uvloop

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    uvloop.run(child_main(args))


# =========================================================================== parent side


class Child:
    """A child process whose stdout lines are collected by a thread; marker lines are
    kept, the rest is passed through to stderr."""

    def __init__(self, argv: list[str], label: str) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), *argv], stdout=subprocess.PIPE,
            stdin=subprocess.PIPE, text=True, preexec_fn=die_with_parent())
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line in (READY, LOADED, T0, T1) or line.startswith(RESULT):
                self.lines.put(line)
            else:
                log(f"[{self.label}] {line}")
        self.lines.put(None)

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{self.label}: no {prefix!r} within {timeout:.0f}s") from None
            if line is None:
                self.proc.wait()
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode} "
                                   f"before {prefix!r} (its stderr is above)")
            if line.startswith(prefix):
                return line

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def result(self, timeout: float) -> dict:
        return json.loads(self.wait_for(RESULT, timeout)[len(RESULT):])

    def stop(self) -> None:
        proc = self.proc
        end_process(proc)
        self.reader.join(timeout=5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                with contextlib.suppress(OSError):
                    pipe.close()


class Broker:
    """One nats-server with a monitoring port (used once, to confirm its fsync setting)."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.store = root / f"nats-{name}"
        self.port = free_port()
        self.monitor_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = root / f"nats-{name}.log"

    def command(self) -> list[str]:
        always = nats_command(self.port, self.store)  # writes <store>/nats.conf
        if self.name == "always":
            return always
        text = nats_config(self.port, self.store)
        lines = text.splitlines()
        kept = [line for line in lines if "sync_interval" not in line]
        if len(kept) != len(lines) - 1:
            raise RuntimeError("nats_config has no single sync_interval line; update this "
                               "benchmark's default-sync variant")
        path = self.store / "nats-default-sync.conf"
        path.write_text("\n".join(kept) + "\n")
        return [nats_binary(), "-c", str(path)]

    def start(self) -> None:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [*self.command(), "-m", str(self.monitor_port)], stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent())
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.monitor_port}/varz",
                                            timeout=1) as resp:
                    self.varz = json.load(resp)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nats-server ({self.name}) did not start; see "
                                       f"{self.log_path}") from None
                time.sleep(0.05)
        config = self.varz.get("jetstream", {}).get("config", {})
        self.sync_always = bool(config.get("sync_always"))
        if self.sync_always != (self.name == "always"):
            raise RuntimeError(f"nats-server ({self.name}) reports sync_always="
                               f"{self.sync_always}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass(frozen=True)
class Variant:
    label: str
    kind: str  # raw | mercato
    per_tx: int = 1
    changes: str = ""  # prototyped chassis changes (what-if): checkpoint, batch-tx


@dataclass
class Runs:
    variant: Variant
    sync: str
    runs: list[dict] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(r[key] for r in self.runs)

    def spread(self, key: str) -> float:
        values = [r[key] for r in self.runs]
        return (max(values) - min(values)) / statistics.median(values)

    def ratio(self, other: Runs, key: str, *, inverse: bool = False) -> float:
        """Median over rounds of this run's value / the other's in the same round (the runs
        of one round are next to each other in time, so they share the machine's noise)."""
        pairs = list(zip(self.runs, other.runs, strict=True))
        if inverse:
            return statistics.median(o[key] / m[key] for m, o in pairs)
        return statistics.median(m[key] / o[key] for m, o in pairs)


def child_argv(role: str, broker: Broker, args, run_dir: Path, token: str, *,
               per_tx: int = 1, watch: str = "", changes: str = "") -> list[str]:
    return ["--child", role, "--port", str(broker.port), "--n", str(args.events),
            "--paced", str(args.paced_events), "--rate", str(args.rate),
            "--per-tx", str(per_tx), "--dir", str(run_dir), "--token", token,
            "--watch", watch, "--timeout", str(args.run_timeout), "--changes", changes,
            "--templates", str(args.templates)]


def run_once(variant: Variant, broker: Broker, args, run_dir: Path,
             on_t0=None, on_t1=None) -> dict:
    """One run: the consumer and the publisher child start together; the publisher begins
    when the consumer is ready. Returns the combined result."""
    run_dir.mkdir(parents=True)
    reset_stream(broker.port)
    token = uuid.uuid4().hex[:12]
    sub = pub = None
    try:
        sub = Child(child_argv(f"{variant.kind}-sub", broker, args, run_dir, token,
                               changes=variant.changes), f"{variant.kind}-sub")
        pub = Child(child_argv(f"{variant.kind}-pub", broker, args, run_dir, token,
                               per_tx=variant.per_tx, changes=variant.changes,
                               watch=f"{sub.proc.pid},{broker.proc.pid}"),
                    f"{variant.kind}-pub")
        sub.wait_for(READY, 60)
        pub.wait_for(LOADED, 60)
        pub.send("go")
        pub.wait_for(T0, 60)
        if on_t0 is not None:
            on_t0(pub.proc.pid, sub.proc.pid)
        pub.wait_for(T1, args.run_timeout + 10)
        if on_t1 is not None:
            on_t1()
        pub_result = pub.result(args.run_timeout + 10)
        sub_result = sub.result(args.run_timeout + 10)
    finally:
        for child in (pub, sub):
            if child is not None:
                child.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    t0 = pub_result["t0"]
    elapsed = sub_result["t_phase1"] - t0
    cpu = pub_result["cpu"]  # publisher, consumer, nats-server over phase 1
    out = {
        "eps": args.events / elapsed,
        "elapsed": elapsed,
        "published_at": pub_result["t_published"] - t0,
        "commits_at": pub_result.get("t_commits_done", t0) - t0,
        "loaded_p50": sub_result["loaded_p50"] * 1000,
        "loaded_p99": sub_result["loaded_p99"] * 1000,
        "p50": sub_result["paced_p50"] * 1000,
        "p99": sub_result["paced_p99"] * 1000,
        "paced_n": sub_result["paced_n"],
        "per_batch": args.events / max(1, pub_result["batches"]),
        "per_fetch": args.events / max(1, sub_result["fetches"]),
    }
    for name, seconds in zip(("cpu_pub", "cpu_sub", "cpu_nats"), cpu, strict=True):
        out[name] = float("nan") if seconds is None else seconds / args.events * 1e6
    out["cpu_total"] = out["cpu_pub"] + out["cpu_sub"] + out["cpu_nats"]
    for name, seconds in zip(("busy_pub", "busy_sub"), cpu[:2], strict=True):
        out[name] = float("nan") if seconds is None else seconds / elapsed
    for name, seconds in zip(("wait_pub", "wait_sub"), pub_result["runq_wait"], strict=True):
        out[name] = float("nan") if seconds is None else seconds / elapsed
    return out


# --------------------------------------------------------------------------- report


def print_table(console, results: list[Runs], args) -> None:
    from rich.table import Table

    by_key = {(r.sync, r.variant.label): r for r in results}
    table = Table(
        title=f"Reliable messaging vs raw JetStream (median of {args.rounds} rounds)",
        title_justify="left", caption_justify="left",
        caption=(
            "events/s: N events end to end (first commit/publish -> last consumed), "
            f"N={args.events}. x (a): vs raw JetStream on the same server, x default: vs the "
            "same variant on the default-sync server, both the median over rounds of the "
            "ratio within a round. spread = (max-min)/median of events/s. "
            f"p50/p99: at {args.rate:g} events/s, commit (b) or publish (a) -> consumer "
            "commit (b) or ack (a). CPU: µs per event over the throughput phase, of the "
            "publisher/consumer/nats-server processes, and their total; x (a) by CPU = total "
            "CPU of (a) / total CPU of the row (median over rounds): the events/s ratio if CPU "
            "were the only limit."
        ),
    )
    table.add_column("fsync")
    table.add_column("variant")
    for head in ("events/s", "x (a)", "x default", "spread", "p50 ms", "p99 ms",
                 "CPU µs/ev pub/con/nats", "total", "x (a) by CPU"):
        table.add_column(head, justify="right")
    for r in results:
        base = by_key[(r.sync, results[0].variant.label)]
        eps = r.median("eps")
        default = by_key.get(("default", r.variant.label))
        vs_default = (f"{r.ratio(default, 'eps'):.2f}"
                      if default is not None and r.sync != "default" else "")
        table.add_row(
            "always" if r.sync == "always" else "default",
            r.variant.label,
            f"{eps:,.0f}",
            f"{r.ratio(base, 'eps'):.2f}",
            vs_default,
            f"{r.spread('eps'):.0%}",
            f"{r.median('p50'):.2f}",
            f"{r.median('p99'):.2f}",
            "/".join(f"{r.median(k):.0f}" for k in ("cpu_pub", "cpu_sub", "cpu_nats")),
            f"{r.median('cpu_total'):.0f}",
            f"{r.ratio(base, 'cpu_total', inverse=True):.2f}",
        )
    console.print(table)
    stages = Table(
        title="Throughput phase: where the time went (medians)", title_justify="left",
        caption_justify="left",
        caption=(
            "commit / PubAck / consumed: seconds after the first event at which the last one "
            "was committed (b), acked by the broker, handled by the consumer. ev/batch: "
            "events per publish batch (a relay round that sent something); msg/fetch: messages "
            "per fetch that returned any. CPU / wait: share of the phase the publisher / "
            "consumer process ran, and was runnable but waited for a CPU (/proc schedstat). "
            "loaded p50/p99: latency (ms) in this phase, mostly queueing behind the backlog."
        ),
    )
    for head in ("fsync", "variant"):
        stages.add_column(head)
    for head in ("commit s", "PubAck s", "consumed s", "ev/batch", "msg/fetch",
                 "CPU pub/con", "wait pub/con", "loaded p50/p99"):
        stages.add_column(head, justify="right")
    for r in results:
        stages.add_row(
            r.sync, r.variant.label,
            f"{r.median('commits_at'):.2f}" if r.variant.kind != "raw" else "-",
            f"{r.median('published_at'):.2f}", f"{r.median('elapsed'):.2f}",
            f"{r.median('per_batch'):.0f}", f"{r.median('per_fetch'):.0f}",
            f"{r.median('busy_pub'):.0%} / {r.median('busy_sub'):.0%}",
            f"{r.median('wait_pub'):.0%} / {r.median('wait_sub'):.0%}",
            f"{r.median('loaded_p50'):.0f}/{r.median('loaded_p99'):.0f}",
        )
    console.print(stages)


# --------------------------------------------------------------------------- profile

# Parts of the work, by process: the share of busy samples whose stack matches. A stack is
# a list of (function, file) pairs, outermost first.


def is_(name: str, *qualnames: str) -> bool:
    """Whether a frame's function is one of `qualnames` (py-spy gives qualified names;
    functions nested in a function carry `<outer>.<locals>.` in front)."""
    return any(name == q or name.endswith("." + q) for q in qualnames)


def here(file: str) -> bool:
    return file.endswith("bench_messaging.py")


def has(stack, *qualnames: str, here_only: bool = False) -> bool:
    return any(is_(n, *qualnames) and (here(f) or not here_only) for n, f in stack)


def native(stack, marker: str) -> bool:
    return any(marker in f and not f.endswith(".py") for _, f in stack)


def in_sqlite(stack, syscall: str) -> bool:
    return native(stack, "sqlite3") and any(n == syscall for n, _ in stack)


SOCKET_WRITE = ("  of which writev() to the NATS socket (kernel loopback TCP; a thread "
                "waking nats-server is often descheduled there)",
                lambda st: bool(st) and st[-1][0] in ("writev", "write", "sendmsg", "send")
                and not native(st, "sqlite3"))
SQLITE_BUCKETS = [
    ("SQLite (C, all of it)", lambda st: native(st, "sqlite3")),
    ("  of which fdatasync (WAL checkpoint, WAL restart)",
     lambda st: in_sqlite(st, "fdatasync")),
    ("  of which pwrite (WAL frames)", lambda st: in_sqlite(st, "pwrite64")),
    ("  of which fcntl (WAL locks)", lambda st: in_sqlite(st, "fcntl64")),
    ("garbage collector", lambda st: any(n.startswith("gc_collect") for n, _ in st)),
]
PUB_BUCKETS = [
    ("producer transactions (Outbox.add + BEGIN/COMMIT)",
     lambda st: has(st, "commit", here_only=True)),
    ("  Outbox.add", lambda st: has(st, "Outbox.add")),
    ("    of which pydantic (build the Envelope, dump it to JSON)",
     lambda st: has(st, "Outbox.add") and any("pydantic" in f for _, f in st)),
    ("  BEGIN IMMEDIATE + COMMIT (SqliteDatabase.transaction)",
     lambda st: has(st, "commit", here_only=True) and not has(st, "Outbox.add")),
    ("relay (Relay.publish_pending)", lambda st: has(st, "Relay.publish_pending")),
    ("  Outbox.pending (SELECT)", lambda st: has(st, "Outbox.pending")),
    ("  Outbox.mark_published (UPDATE + COMMIT)", lambda st: has(st, "Outbox.mark_published")),
    ("the relay's publishes (JetStreamContext.publish tasks)",
     lambda st: has(st, "JetStreamContext.publish")),
    ("nats-py reading (Client._read_loop)", lambda st: has(st, "Client._read_loop")),
    ("nats-py flusher", lambda st: has(st, "Client._flusher")),
    SOCKET_WRITE,
    *SQLITE_BUCKETS,
]
SUB_BUCKETS = [
    ("Consumers.handle", lambda st: has(st, "Consumers.handle")),
    ("  pydantic validation (Envelope, event)",
     lambda st: has(st, "BaseModel.model_validate_json", "BaseModel.model_validate")),
    ("  Msg.metadata (nats-py parses the reply subject)", lambda st: has(st, "Msg.metadata")),
    ("  BEGIN IMMEDIATE + COMMIT (SqliteDatabase.transaction)",
     lambda st: has(st, "SqliteDatabase.transaction") and not has(st, "_SqliteConnection.execute")
     and not has(st, "handler", here_only=True)),
    ("  inbox INSERT", lambda st: has(st, "_SqliteConnection.execute")
     and not has(st, "handler", here_only=True)),
    ("  the handler (one INSERT)", lambda st: has(st, "handler", here_only=True)),
    ("  msg.ack", lambda st: has(st, "Msg.ack")),
    ("fetch (PullSubscription.fetch)", lambda st: has(st, "PullSubscription.fetch")),
    ("nats-py reading (Client._read_loop)", lambda st: has(st, "Client._read_loop")),
    ("nats-py flusher", lambda st: has(st, "Client._flusher")),
    SOCKET_WRITE,
    *SQLITE_BUCKETS,
]


def profile_run(exe: str, variant: Variant, broker: Broker, args, run_dir: Path,
                prefix: str) -> None:
    """One more run; py-spy samples the publisher and the consumer from T0 to T1 (phase 1)."""
    spies: dict[str, subprocess.Popen] = {}
    outs = {side: Path(f"{prefix}-{broker.name}-{side}.speedscope.json")
            for side in ("publisher", "consumer")}
    marks: dict[str, dict] = {"t0": {}, "t1": {}}
    pids: dict[str, int] = {}

    def snapshot(key: str) -> None:
        marks[key] = {side: (user_system_seconds(pid), runq_wait_seconds(pid), time.monotonic())
                      for side, pid in pids.items()}

    def start_spies(pub_pid: int, sub_pid: int) -> None:
        pids.update(publisher=pub_pid, consumer=sub_pid)
        snapshot("t0")
        for side, pid in pids.items():
            spies[side] = subprocess.Popen(
                [exe, "record", "-p", str(pid), "-d", str(int(args.run_timeout)), "-r", "100",
                 "--native", "-o", str(outs[side]), "--format", "speedscope"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                preexec_fn=die_with_parent())

    def stop_spies() -> None:  # py-spy writes its file when interrupted
        snapshot("t1")
        for spy in spies.values():
            spy.send_signal(signal.SIGINT)

    errors = {}
    try:
        result = run_once(variant, broker, args, run_dir, on_t0=start_spies,
                          on_t1=stop_spies)
        for side, spy in spies.items():
            _, err = spy.communicate(timeout=30)
            if spy.returncode != 0:
                errors[side] = err.strip()[-400:]
    finally:
        for spy in spies.values():
            if spy.poll() is None:
                spy.terminate()
                spy.wait()
    print(f"\npy-spy, {variant.label} on the {broker.name}-sync server, throughput phase "
          f"(N={args.events}) sampled at 100 Hz with --native, main thread. Each sample "
          f"pauses the process, so this run is slower: {result['eps']:,.0f} events/s; CPU "
          f"µs/event publisher {result['cpu_pub']:.0f} / consumer {result['cpu_sub']:.0f} / "
          f"nats-server {result['cpu_nats']:.0f}")
    for side, buckets in (("publisher", PUB_BUCKETS), ("consumer", SUB_BUCKETS)):
        if side in errors or not outs[side].exists():
            print(f"  {side}: py-spy failed: {errors.get(side, 'no output')}")
            continue
        (cpu0, wait0, t0), (cpu1, wait1, t1) = marks["t0"][side], marks["t1"][side]
        line = f"  {side} -> {outs[side]}: {t1 - t0:.1f} s sampled"
        if cpu0 and cpu1:
            line += (f"; CPU user {cpu1[0] - cpu0[0]:.2f} s + system {cpu1[1] - cpu0[1]:.2f} s")
        if wait0 is not None and wait1 is not None:
            line += f"; runnable but waiting for a CPU {wait1 - wait0:.2f} s"
        print(line)
        summarize_speedscope(outs[side], buckets)


IDLE = ("epoll_wait", "epoll_pwait")


def summarize_speedscope(path: Path, buckets, top: int = 12) -> None:
    """Print the share of the sampled thread's busy samples (py-spy leaves out idle ones;
    a thread waiting in epoll is counted apart here too) by part of the work, and the top
    Python functions by own and by inclusive time."""
    doc = json.loads(path.read_text())
    frames = doc["shared"]["frames"]
    own: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    parts: collections.Counter = collections.Counter()
    total = busy = 0
    # The event loop's thread (the children run no other thread of their own).
    main = [p for p in doc["profiles"] if "MainThread" in p.get("name", "")]
    for prof in main or doc["profiles"][:1]:
        for stack in prof["samples"]:
            if not stack:
                continue
            total += 1
            if frames[stack[-1]].get("name") in IDLE:
                continue
            busy += 1
            python = [frames[i] for i in stack if (frames[i].get("file") or "").endswith(".py")]
            if python:
                own[_frame_name(python[-1])] += 1
            for name in {_frame_name(f) for f in python}:
                incl[name] += 1
            nf = [(frames[i].get("name", ""), frames[i].get("file") or "") for i in stack]
            for label, match in buckets:
                if match(nf):
                    parts[label] += 1
    if not busy:
        print("    (no samples)")
        return
    print(f"    {busy} busy samples of {total} (py-spy counts a thread waiting for a CPU as "
          "busy); shares of the busy samples:")
    print("    parts of the work (inclusive; nested lines are parts of the line above):")
    for label, _ in buckets:
        indent = len(label) - len(label.lstrip())
        print(f"      {' ' * indent}{parts[label] / busy:4.0%}  {label.strip()}")
    print(f"    top {top} Python functions by own time (C code counts for its caller):")
    for name, w in own.most_common(top):
        print(f"      {w / busy:6.1%}  {name}")
    print(f"    top {top} Python functions by inclusive time (event loop frames left out):")
    print_top_inclusive(incl, busy, top, 0.97, "      ")


# --------------------------------------------------------------------------- the run


def run_benchmark(args, console) -> None:
    from importlib.metadata import version

    variants = [Variant("(a) raw JetStream", "raw")]
    variants += [Variant(f"(b) Mercato, {k} event{'s' if k > 1 else ''}/tx", "mercato", k)
                 for k in args.per_tx]
    if args.what_if:
        variants += [Variant("(b') 1/tx, checkpoints off loop", "mercato", 1, "checkpoint"),
                     Variant("(b'') b' + consumer 1 tx/fetch", "mercato", 1,
                             "checkpoint,batch-tx")]
    root = Path(tempfile.mkdtemp(prefix="bench_messaging_"))
    brokers = [Broker(name, root) for name in args.sync]
    try:
        args.templates = root / "templates"
        args.templates.mkdir()
        make_templates(args.templates)
        for broker in brokers:
            broker.start()
        pad_raw, pad_mercato = padding("raw"), padding("mercato")
        console.print(
            f"bench_messaging  python {platform.python_version()}  nats-py "
            f"{version('nats-py')}  nats-server {brokers[0].varz.get('version')}  "
            f"cpus={os.cpu_count()}  loadavg at start={load_average()}\n"
            f"events N={args.events} per run, then {args.paced_events} at {args.rate:g}/s; "
            f"rounds={args.rounds}; envelope {ENVELOPE_BYTES} B (pads {len(pad_raw)}/"
            f"{len(pad_mercato)}); relay/baseline batch {RELAY_BATCH}, fetch batch "
            f"{FETCH_BATCH}; loop uvloop; temp dir {root}\n"
            + "\n".join(f"nats-server {b.name}: 127.0.0.1:{b.port}, sync_always="
                        f"{b.sync_always} (from /varz)" for b in brokers)
        )
        results = [Runs(v, b.name) for b in brokers for v in variants]
        k = 0
        for rnd in range(args.rounds):
            for runs in results:
                broker = next(b for b in brokers if b.name == runs.sync)
                k += 1
                runs.runs.append(run_once(runs.variant, broker, args, root / f"run{k}"))
                last = runs.runs[-1]
                log(f"  .. round {rnd + 1}/{args.rounds} {runs.sync:7} {runs.variant.label}: "
                    f"{last['eps']:,.0f} events/s, p50 {last['p50']:.2f} ms, "
                    f"p99 {last['p99']:.2f} ms")
        print_table(console, results, args)
        console.print(f"loadavg at end={load_average()}")
        if args.py_spy:
            exe = py_spy_executable()
            if exe is None:
                log("--py-spy: py-spy not found; skipping the profile")
                return
            for broker in brokers:
                runs = next(r for r in results if r.sync == broker.name
                            and r.variant.kind == "mercato" and not r.variant.changes)
                k += 1
                profile_args = argparse.Namespace(**{**vars(args),
                                                     "events": args.profile_events})
                profile_run(exe, runs.variant, broker, profile_args, root / f"run{k}",
                            args.py_spy)
    finally:
        for broker in brokers:
            broker.stop()
        shutil.rmtree(root, ignore_errors=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Measure the reliable-messaging path (Outbox in SQLite transactions -> "
        "Relay -> JetStream -> Consumers with the inbox in SQLite) against raw JetStream "
        "publish + durable pull consumer, on a nats-server with sync_interval: always (the "
        "platform's config) and one with the default sync, interleaved over rounds. Prints "
        "events/s end to end, ratios, p50/p99 latency and CPU per event.",
    )
    p.add_argument("--events", type=int, default=4000,
                   help="events per run in the throughput phase (default 4000)")
    p.add_argument("--rate", type=float, default=500.0,
                   help="events/s of the latency phase (default 500)")
    p.add_argument("--paced-seconds", type=float, default=0.8,
                   help="length of the latency phase (default 0.8)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds, variants interleaved; medians are reported (default 3)")
    p.add_argument("--per-tx", type=int, nargs="+", default=[1, 10],
                   help="events per producer transaction, one (b) variant each (default 1 10)")
    p.add_argument("--what-if", action="store_true",
                   help="add two 1-event/tx variants with chassis changes prototyped in this "
                   "script: (b') SQLite WAL checkpoints off the event loop; (b'') that plus the "
                   "consumer handling the messages of one fetch in one transaction (see the "
                   "what-if section of the source); adds about 30 s")
    p.add_argument("--sync", nargs="+", choices=["always", "default"],
                   default=["always", "default"],
                   help="nats-server fsync settings to run (default both)")
    p.add_argument("--run-timeout", type=float, default=120.0,
                   help="seconds a child may take for one run before it is stopped")
    p.add_argument("--profile-events", type=int, default=20000,
                   help="events in the throughput phase of each --py-spy run (default 20000)")
    p.add_argument("--py-spy", metavar="PREFIX",
                   help="after the table, one more (b) run per server with py-spy sampling the "
                   "publisher and the consumer; writes PREFIX-<sync>-publisher.speedscope.json "
                   "and ...-consumer... and prints where their time goes")
    child = p.add_argument_group("child process (internal)")
    child.add_argument("--child", choices=["raw-pub", "raw-sub", "mercato-pub", "mercato-sub"],
                       help=argparse.SUPPRESS)
    for name, kind in (("--port", int), ("--n", int), ("--paced", int), ("--dir", str),
                       ("--changes", str), ("--templates", str),
                       ("--token", str), ("--watch", str), ("--timeout", float)):
        child.add_argument(name, type=kind, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is None:
        args.paced_events = int(args.rate * args.paced_seconds)
    else:
        args.per_tx = args.per_tx[0]
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return
    from rich.console import Console

    sys.stdout.reconfigure(line_buffering=True)
    console = Console() if sys.stdout.isatty() else Console(width=150)
    run_main(lambda args: run_benchmark(args, console), args, "child processes were stopped")


if __name__ == "__main__":
    main()

"""bench_messaging's child processes: the publisher (raw JetStream, or Outbox + Relay) and
the consumer (a raw pull consumer, or Consumers with the inbox) of one run."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

from _load import proc_cpu_seconds
from _messaging_common import (
    CONSUMER_SERVICE,
    FETCH_BATCH,
    HOST,
    LOADED,
    READY,
    RELAY_BATCH,
    RESULT,
    SOURCE,
    T0,
    T1,
    BenchEvent,
    consumer_config,
    emit,
    open_db,
    padding,
    percentile,
    raw_body,
)
from _messaging_whatif import batched_consumers, checkpoint_off_the_loop
from _procfs import runq_wait_seconds

#
# `bench_messaging.py --child ROLE ...` runs one side of one run. It prints marker lines
# on stdout (READY, LOADED, T0 and T1 around phase 1, RESULT <json>); the parent passes
# anything else it prints on to stderr. The publisher starts phase 1 when it reads "go" on stdin.


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


async def child_consumer(args, nc, js) -> None:
    """The consumer side of one run (raw pull consumer, or Consumers + inbox)."""
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
    """The publisher side of one run (raw js.publish, or Outbox + Relay)."""
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
    """Connect to the run's nats-server and play the role of --child."""
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
    """The child process's entry: `bench_messaging.py --child ROLE ...`."""
    # The chassis logs with structlog; keep its output off stdout, which carries markers.
    import structlog
    import uvloop

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    uvloop.run(child_main(args))


"""Benchmark: what does the reliable-messaging path cost against raw JetStream?

Same machine, same run, same broker settings. Two nats-servers run side by side on free
ports of 127.0.0.1, each with its own store in a temp dir:

  always    started from `mercato.platform.nats_server.nats_command` (the platform's config:
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
src/ is not touched): see _messaging_whatif.py.

Every child process is stopped in a `finally` block (SIGTERM and Ctrl-C included) and
gets SIGTERM from Linux if this script dies outright.

Run:  python benchmarks/bench_messaging.py            (about 50 s on an idle 2-core box,
                                                       up to twice that when it is busy)
      python benchmarks/bench_messaging.py --help

The pieces live beside it: _messaging_common.py (the event, databases, stream, messages),
_messaging_child.py (the publisher and consumer processes), _messaging_whatif.py,
_messaging_runs.py (one run, its children, the variants), _messaging_report.py (the
tables) and _messaging_profile.py (--py-spy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _load import die_with_parent, load_average
from _messaging_child import run_child
from _messaging_common import (
    ENVELOPE_BYTES,
    FETCH_BATCH,
    HOST,
    RELAY_BATCH,
    log,
    make_templates,
    padding,
)
from _messaging_profile import profile_run
from _messaging_report import print_table
from _messaging_runs import Runs, Variant, run_once
from _platform import run_main
from _profile import py_spy_executable

from mercato.platform.nats_server import free_port, nats_binary, nats_command, nats_config


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


# --------------------------------------------------------------------------- the run


def run_benchmark(args, console) -> None:
    """Start the brokers, run every variant on each over the rounds, print the tables
    (and, with --py-spy, the profiles); everything is stopped at the end."""
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
    """The command line (see --help); the children's options are hidden."""
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
    """Run the benchmark, or with --child be one side of one run."""
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

"""bench_messaging --py-spy: one more run with py-spy sampling the publisher and the
consumer during the throughput phase, and where their time goes (buckets by process)."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from _load import die_with_parent
from _messaging_runs import Variant, run_once
from _procfs import runq_wait_seconds
from _profile import _frame_name, print_top_inclusive, user_system_seconds

if TYPE_CHECKING:
    from bench_messaging import Broker

# Parts of the work, by process: the share of busy samples whose stack matches. A stack is
# a list of (function, file) pairs, outermost first.


def is_(name: str, *qualnames: str) -> bool:
    """Whether a frame's function is one of `qualnames` (py-spy gives qualified names;
    functions nested in a function carry `<outer>.<locals>.` in front)."""
    return any(name == q or name.endswith("." + q) for q in qualnames)


def here(file: str) -> bool:
    """Whether a frame's code is the benchmark's own (its children's functions)."""
    return file.endswith("_messaging_child.py")


def has(stack, *qualnames: str, here_only: bool = False) -> bool:
    """Whether a frame of the stack is one of `qualnames` (with here_only: of this benchmark)."""
    return any(is_(n, *qualnames) and (here(f) or not here_only) for n, f in stack)


def native(stack, marker: str) -> bool:
    """Whether a native frame of the stack comes from a library matching `marker`."""
    return any(marker in f and not f.endswith(".py") for _, f in stack)


def in_sqlite(stack, syscall: str) -> bool:
    """Whether SQLite is on the stack and `syscall` is among its frames."""
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


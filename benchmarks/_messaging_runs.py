"""bench_messaging's parent side of one run: the two child processes, talked to through
marker lines, the variants and their runs over the rounds, and one run's result."""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from _load import OverRounds, die_with_parent, end_process
from _messaging_common import LOADED, READY, RESULT, T0, T1, log, reset_stream

if TYPE_CHECKING:
    from bench_messaging import Broker

SCRIPT = str(Path(__file__).with_name("bench_messaging.py"))  # its --child runs a side


class Child:
    """A child process whose stdout lines are collected by a thread; marker lines are
    kept, the rest is passed through to stderr."""

    def __init__(self, argv: list[str], label: str) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            [sys.executable, SCRIPT, *argv], stdout=subprocess.PIPE,
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


@dataclass(frozen=True)
class Variant:
    """What one row measures: raw or Mercato, events per transaction, what-if changes."""

    label: str
    kind: str  # raw | mercato
    per_tx: int = 1
    changes: str = ""  # prototyped chassis changes (what-if): checkpoint, batch-tx


@dataclass
class Runs(OverRounds):
    """The runs of one variant on one server over the rounds."""

    variant: Variant
    sync: str
    runs: list[dict] = field(default_factory=list)

    def ratio(self, other: Runs, key: str, *, inverse: bool = False) -> float:
        """Median over rounds of this run's value / the other's in the same round (the runs
        of one round are next to each other in time, so they share the machine's noise)."""
        pairs = list(zip(self.runs, other.runs, strict=True))
        if inverse:
            return statistics.median(o[key] / m[key] for m, o in pairs)
        return statistics.median(m[key] / o[key] for m, o in pairs)


def child_argv(role: str, broker: Broker, args, run_dir: Path, token: str, *,
               per_tx: int = 1, watch: str = "", changes: str = "") -> list[str]:
    """The command line of one child (`bench_messaging.py --child ROLE ...`)."""
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


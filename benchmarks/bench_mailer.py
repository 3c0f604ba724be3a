"""Micro-benchmark: what does the notifications mailer cost per message?

In one process, no database, no network: notifications like the ones the service
composes (order confirmed, shipment scheduled; one in ten greets a customer with a
non-ASCII name) are mailed to an mbox file in a temp dir. Variants, interleaved over
--rounds rounds, median reported:

  (a) old path, one message at a time    (baseline) the mailer before batching, kept
                                         here as it was: ``EmailMessage`` (EmailPolicy
                                         parses every header), ``BytesGenerator``, one
                                         ``asyncio.to_thread`` hop, open + lockf + write
                                         + fsync per message
  (b) new render, one message at a time  ``MboxMailer.send``: the hand-made entry, still
                                         one hop and one fsync per message (what the
                                         internal route's send costs)
  (c) new, batches of 10                 ``MboxMailer.send_many``: one hop, one write,
  (d) new, batches of 100                one fsync per batch (the sender's pass)
  (r1) old render only, (r2) new render only: building the entry, no I/O

messages/s is wall time (fsync included); CPU µs/message is the process's CPU time
(``time.process_time``: the event loop's thread and the worker thread together), which
is what the service pays on a busy machine. Before timing, the script checks that the
old and the new entries read back (``email`` package, default policy) to the same
headers and body for every message of the mix.

Run:  python benchmarks/bench_mailer.py             (about 35 s on an ext4 disk)
"""

from __future__ import annotations

import argparse
import asyncio
import email
import fcntl
import gc
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mercato.services.notifications.domain import Notification
from mercato.services.notifications.mailer import SENDER, MboxMailer, render_entry

# --- the old mailer, as it was before batching (baseline) -----------------------------

def build_message(n: Notification) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = n.recipient
    msg["Subject"] = n.subject
    msg["Date"] = format_datetime(datetime.fromisoformat(n.created_at))
    msg["Message-ID"] = f"<{n.id}@mercato.local>"
    msg["X-Mercato-User"] = n.user_id
    msg["X-Mercato-Kind"] = n.kind
    if n.order_id:
        msg["X-Mercato-Order"] = n.order_id
    readable = all(len(line) <= 998 for line in n.body.splitlines())
    msg.set_content(n.body, cte="8bit" if readable else "quoted-printable")
    return msg


def render_mbox_entry(msg: EmailMessage, received: float) -> bytes:
    out = io.BytesIO()
    out.write(f"From MAILER-DAEMON {time.asctime(time.gmtime(received))}\n".encode())
    BytesGenerator(out, mangle_from_=True, policy=msg.policy.clone(linesep="\n")).flatten(msg)
    data = out.getvalue()
    if not data.endswith(b"\n"):
        data += b"\n"
    return data + b"\n"


class OldMboxMailer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    async def send(self, notification: Notification) -> None:
        entry = render_mbox_entry(build_message(notification), time.time())
        await asyncio.to_thread(self._append, entry)

    def _append(self, entry: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("ab") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX)
            try:
                fh.write(entry)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.lockf(fh, fcntl.LOCK_UN)


# --- the workload ----------------------------------------------------------------------

NAMES = ("Ada", "Grace", "Alan", "Zoë Müller", "Barbara", "Edsger", "Ken", "Dennis",
         "Frances", "Niklaus")


def notifications(count: int) -> list[Notification]:
    out = []
    for i in range(count):
        order = str(uuid.UUID(int=i + 1))
        name = NAMES[i % len(NAMES)]
        if i % 2:
            kind = "shipment_scheduled"
            subject = f"Your order {order[:8]} is scheduled for shipment"
            text = f"Your parcel is scheduled for shipment. Tracking number: MRC{i:09d}."
        else:
            kind, subject = "order_confirmed", f"Your order {order[:8]} is confirmed"
            text = f"Thank you! We received {i % 9000 / 100 + 10:.2f} USD."
        out.append(Notification(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"e-{i}")),
            user_id=str(uuid.UUID(int=10**6 + i)),
            kind=kind, subject=subject, body=f"Hello {name},\n\n{text}", order_id=order,
            email=f"customer{i}@example.com", created_at="2026-11-22T03:04:05.123456+00:00"))
    return out


def check_same_messages(mix: list[Notification]) -> None:
    """The new entry reads back as the old one did: same headers, same body."""
    def parsed(entry: bytes):
        msg = email.message_from_bytes(entry.split(b"\n", 1)[1], policy=policy.default)
        return [(k, str(v)) for k, v in msg.items()], msg.get_content()
    for n in mix:
        old, new = parsed(render_mbox_entry(build_message(n), 0)), parsed(render_entry(n, 0))
        assert old == new, f"{n.id}: {old} != {new}"


# --- timing ----------------------------------------------------------------------------

async def timed(work) -> tuple[float, float]:
    """Wall seconds and process CPU seconds for one run of ``work``."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    return time.perf_counter() - wall, time.process_time() - cpu


def variants(tmp: Path, mix: list[Notification]) -> dict:
    old, new = OldMboxMailer(tmp / "old.mbox"), MboxMailer(tmp / "new.mbox")
    batched = MboxMailer(tmp / "batched.mbox")

    def each(mailer):
        async def run():
            for n in mix:
                await mailer.send(n)
        return run

    def batches(size: int):
        async def run():
            for i in range(0, len(mix), size):
                await batched.send_many(mix[i:i + size])
        return run

    async def old_render():
        for n in mix:
            render_mbox_entry(build_message(n), 0.0)

    async def new_render():
        for n in mix:
            render_entry(n, 0.0)

    return {"(a) old path, one at a time": each(old), "(b) new render, one at a time": each(new),
            "(c) new, batches of 10": batches(10), "(d) new, batches of 100": batches(100),
            "(r1) old render only": old_render, "(r2) new render only": new_render}


async def main(args) -> int:
    args.load_at_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-mailer-", dir=args.dir))
    mix = notifications(args.messages)
    try:
        check_same_messages(mix)
        runs = variants(tmp, mix)
        for work in runs.values():  # warm up: imports, caches, the files
            await work()
        results: dict[str, list[tuple[float, float]]] = {label: [] for label in runs}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
            for label, work in runs.items():
                results[label].append(await timed(work))
        fs = filesystem(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(args, results, fs)
    return 0


def filesystem(path: Path) -> str:
    """The type of the file system ``path`` is on (its fsync is what is measured)."""
    mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    found = [(len(m), kind) for m, kind in mounts if str(path).startswith(m)]
    return max(found)[1] if found else "?"


def print_table(args, results: dict[str, list[tuple[float, float]]], fs: str) -> None:
    n = args.messages
    base = "(a) old path, one at a time"
    base_wall = statistics.median(w for w, _ in results[base])
    base_cpu = statistics.median(c for _, c in results[base])
    render_cpu = statistics.median(c for _, c in results["(r1) old render only"])
    table = Table(title=f"Mailing {n:,} notifications to an mbox file ({fs}), "
                        f"median of {args.rounds} rounds")
    for col in ("variant", "messages/s", "x (a)", "CPU µs/msg", "x (a) CPU", "x (r1) CPU",
                "wall µs/msg", "spread", "CPU spread"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for label, values in results.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        walls, cpus = [w for w, _ in values], [c for _, c in values]
        table.add_row(label, f"{n / wall:,.0f}", f"{base_wall / wall:.2f}",
                      f"{cpu / n * 1e6:.1f}", f"{cpu / base_cpu:.2f}",
                      f"{cpu / render_cpu:.2f}" if label.startswith("(r") else "",
                      f"{wall / n * 1e6:.1f}", f"{(max(walls) - min(walls)) / wall:.0%}",
                      f"{(max(cpus) - min(cpus)) / cpu:.0%}")
    console = Console(width=140)  # the header line, the table, what the columns say
    console.print(f"bench_mailer  python {platform.python_version()}  cpus={os.cpu_count()}  "
                  f"loadavg at start={args.load_at_start:.2f} at end={os.getloadavg()[0]:.2f}  "
                  f"dir={args.dir or tempfile.gettempdir()}")
    console.print(table)
    console.print("x (a): messages/s against (a), higher is better; x (a) CPU and x (r1) CPU: "
                  "CPU per message against the old path and the old render, lower is better. "
                  "spread = (max-min)/median over rounds, of the wall and of the CPU time. "
                  "Old and new entries checked to read back the same for every message.")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=1000, help="per variant and round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dir", default=None, help="where the temp dir goes (its disk's fsync "
                                                "is measured); default: the system's temp dir")
    sys.exit(asyncio.run(main(p.parse_args())))

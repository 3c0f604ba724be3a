"""How long does `mercato up` take to be ready, and what CPU does the start cost?

Starts the platform the way a user (and every system test) does, `mercato up --no-seed` in
a temp data dir (the shared `Platform` of _platform.py), and measures per start:

- wall seconds from spawning `mercato up` to its "Mercato is ready" line;
- the CPU seconds of the whole process tree at that moment: every live descendant's
  utime+stime, plus cutime+cstime (the CPU of children it has already waited for, e.g. the
  services' migration processes), read from /proc/<pid>/stat;
- how many processes were started for it (pids seen in the tree, a sample every 20 ms,
  short-lived ones may be missed) — a hint at spawned helpers.

Variants, interleaved round by round: (a) fresh data dir (baseline: nothing exists yet,
every database is created and migrated) and (b) warm: the same data dir started again,
its databases already at head (what a newcomer's second `mercato up` does).

    .venv/bin/python benchmarks/bench_startup.py --rounds 3
    .venv/bin/python benchmarks/bench_startup.py --baseline-src /tmp/base/src

`--baseline-src DIR` runs every variant also on DIR (an older tree's src/, through
PYTHONPATH ahead of the installed package) and adds its columns and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _platform import Platform, add_platform_options, free_port, log, run_main
from rich.console import Console
from rich.table import Table

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds incl. waited-for children) of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / TICK


def tree(root: int) -> dict[int, float]:
    """CPU seconds of `root` and each live descendant, by pid."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (s := _stat(int(entry))) is not None:
            stats[int(entry)] = s
    inside, cpu = {root}, {}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in stats.items():
            if ppid in inside and pid not in inside:
                inside.add(pid)
                changed = True
    for pid in inside:
        if pid in stats:
            cpu[pid] = stats[pid][1]
    return cpu


class Watch(threading.Thread):
    """Samples the tree of `root` every 20 ms: every pid seen."""

    def __init__(self, root_of) -> None:
        super().__init__(daemon=True)
        self.root_of, self.seen, self.done = root_of, set(), threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            proc = self.root_of()
            if proc is not None:
                self.seen.update(tree(proc.pid))
            time.sleep(0.02)


def one_start(data_dir: str, timeout: float, env_path: str | None) -> dict:
    platform = Platform(data_dir, free_port())
    saved = os.environ.get("PYTHONPATH")
    if env_path:
        os.environ["PYTHONPATH"] = env_path
    watch = Watch(lambda: platform.proc)
    watch.start()
    try:
        wall = platform.start(timeout)
        cpu = sum(tree(platform.proc.pid).values())
    finally:
        watch.done.set()
        watch.join()
        platform.stop()
        if env_path:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
    said = next((ln for ln in platform.output().splitlines() if "Mercato is ready" in ln), "")
    return {"wall": wall, "cpu": cpu, "procs": len(watch.seen), "said": said}


def run(args) -> None:
    console = Console(width=130)
    trees = [("this tree", None)]
    if args.baseline_src:
        trees.insert(0, ("baseline", str(Path(args.baseline_src).resolve())))
    load0 = os.getloadavg()
    console.print(f"bench_startup  python {sys.version.split()[0]}  cpus={os.cpu_count()}  "
                  f"rounds={args.rounds}  loadavg at start={load0[0]:.2f}")
    results: dict[tuple[str, str], list[dict]] = {}
    for rnd in range(1, args.rounds + 1):
        for label, src in trees:
            data_dir = tempfile.mkdtemp(prefix="bench-startup-")
            try:
                for variant in ("fresh", "warm"):
                    r = one_start(data_dir, args.ready_timeout, src)
                    results.setdefault((label, variant), []).append(r)
                    log(f"round {rnd} {label} {variant}: ready in {r['wall']:.2f}s, "
                        f"{r['cpu']:.2f} CPU-s, {r['procs']} processes  [{r['said']}]")
            finally:
                if args.keep_data:
                    log(f"data dir kept: {data_dir}")
                else:
                    shutil.rmtree(data_dir, ignore_errors=True)
    table = Table(title="`mercato up --no-seed` until 'Mercato is ready' (median of rounds)")
    for col in ("tree", "data dir", "ready s", "x base", "CPU-s (tree)", "x base",
                "processes", "spread wall/CPU"):
        table.add_column(col, justify="left" if col in ("tree", "data dir") else "right")
    base_key = trees[0][0]
    for label, _ in trees:
        for variant in ("fresh", "warm"):
            rs = results[(label, variant)]
            base = results[(base_key, "fresh")]
            wall = statistics.median(r["wall"] for r in rs)
            cpu = statistics.median(r["cpu"] for r in rs)
            bwall = statistics.median(r["wall"] for r in base)
            bcpu = statistics.median(r["cpu"] for r in base)
            spread = (f"{(max(r['wall'] for r in rs) - min(r['wall'] for r in rs)) / wall:.0%}/"
                      f"{(max(r['cpu'] for r in rs) - min(r['cpu'] for r in rs)) / cpu:.0%}")
            table.add_row(label, variant, f"{wall:.2f}", f"{wall / bwall:.2f}", f"{cpu:.2f}",
                          f"{cpu / bcpu:.2f}",
                          f"{statistics.median(r['procs'] for r in rs):.0f}", spread)
    table.caption = (f"x base = ratio to ({base_key}, fresh). CPU-s = utime+stime of every "
                     "process of the tree at the ready line, plus the CPU of the children "
                     "they had reaped. processes = pids seen in the tree (sampled every "
                     f"20 ms). loadavg at end={os.getloadavg()[0]:.2f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-src", metavar="DIR",
                        help="also start an older tree's src/ (PYTHONPATH) and compare")
    add_platform_options(parser)
    run_main(run, parser.parse_args())


if __name__ == "__main__":
    main()

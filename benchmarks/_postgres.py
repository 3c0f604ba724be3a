"""PostgreSQL for the benchmarks: the machine's server (MERCATO_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/), dropping the databases a run made, and
`PgSampler`, which attributes the server's CPU to the databases a platform uses: it polls
pg_stat_activity for their backends and reads each one's CPU from /proc, so any window's
server CPU can be summed per database. Also `rss_mb` (VmRSS, optionally without shared
memory) for any process."""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from pathlib import Path

import asyncpg
from _load import proc_cpu_seconds

PG_SERVER = os.environ.get("MERCATO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")


def pg(name: str) -> str:
    return PG_SERVER.rstrip("/") + "/" + name


def rss_mb(pid: int, private: bool = False) -> float | None:
    """VmRSS in MB; `private`: without RssShmem (a PostgreSQL backend's touched shared
    buffers, counted once per backend in VmRSS)."""
    try:
        kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in
              Path(f"/proc/{pid}/status").read_text().splitlines()) if k.startswith(("VmRSS",
                                                                                  "RssShmem"))}
    except (OSError, ValueError, IndexError):
        return None
    return (kb.get("VmRSS", 0) - (kb.get("RssShmem", 0) if private else 0)) / 1024


class PgSampler:
    """Polls pg_stat_activity for the backends of this run's databases and records each
    one's CPU seconds over time, so any window's server CPU can be attributed per database."""

    def __init__(self, databases: dict[str, str]) -> None:
        self.by_db = {db: svc for svc, db in databases.items()}
        self.series: dict[int, list[tuple[float, float]]] = {}
        self.db_of: dict[int, str] = {}
        self.max_conns: dict[str, int] = {}
        self.lock_waits: list[tuple[float, int]] = []  # orders backends waiting on a tx.lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        conn = await asyncpg.connect(pg("postgres"), timeout=5)
        try:
            while not self._stop.is_set():
                rows = await conn.fetch("SELECT pid, datname, wait_event FROM pg_stat_activity"
                                        " WHERE datname = ANY($1::text[])", list(self.by_db))
                self.lock_waits.append((time.time(), sum(
                    1 for r in rows if r["wait_event"] == "advisory"
                    and self.by_db[r["datname"]] == "orders")))
                now, counts = time.time(), {}
                for r in rows:
                    svc = self.by_db[r["datname"]]
                    counts[svc] = counts.get(svc, 0) + 1
                    if (cpu := proc_cpu_seconds(r["pid"])) is not None:
                        self.series.setdefault(r["pid"], []).append((now, cpu))
                        self.db_of[r["pid"]] = svc
                for svc, n in counts.items():
                    self.max_conns[svc] = max(self.max_conns.get(svc, 0), n)
                await asyncio.sleep(0.25)
        finally:
            await conn.close()

    def cpu(self, t0: float, t1: float) -> dict[str, float]:
        """CPU seconds per service's database used between wall times t0 and t1."""
        out: dict[str, float] = {}
        for pid, points in self.series.items():
            before = [c for t, c in points if t <= t0]
            upto = [c for t, c in points if t <= t1]
            if not upto:
                continue
            used = upto[-1] - (before[-1] if before else 0.0)  # new in the window: all of it
            out[self.db_of[pid]] = out.get(self.db_of[pid], 0.0) + used
        return out

    def waiting(self, t0: float, t1: float) -> float:
        """Mean number of orders backends waiting on an advisory lock between t0 and t1."""
        got = [n for t, n in self.lock_waits if t0 <= t <= t1]
        return statistics.mean(got) if got else float("nan")

    def rss(self) -> float:
        """MB without shared memory, summed over the backends alive now."""
        return sum(rss_mb(pid, private=True) or 0.0 for pid in self.series
                   if Path(f"/proc/{pid}").exists())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


async def drop_databases(names: list[str]) -> None:
    admin = await asyncpg.connect(pg("postgres"), timeout=5)
    try:
        for name in names:  # only databases the caller made
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()

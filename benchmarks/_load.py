"""The benchmarks' shared HTTP load generator: an aiohttp client in its own process.

Parent side (a benchmark script in this folder; `import _load` works because Python puts
the script's folder first on sys.path):

    result = _load.run_load(url, concurrency=50, duration=5, warmup=1,
                            watch_pids=[pid, ...], headers={"authorization": "Bearer ..."})

starts `python benchmarks/_load.py ...`, which keeps `concurrency` keep-alive connections
busy with GETs of `url` for `warmup` + `duration` seconds and prints one JSON line:

    rps, p50_ms, p99_ms   completed 200s inside the timed window, per second / latency
    errors, error_kinds   anything else completed inside the window (status or exception)
    cpu_watched           cores used by each watched pid during the window (None: unreadable)
    cpu_watched_s         the same as CPU seconds
    cpu_self              cores used by the load generator itself

Headers go to the child through an environment variable, not its command line, so a
bearer token does not show up in `ps`. The child gets SIGTERM if the parent dies (Linux)
and is stopped in a `finally` block otherwise. `Result` collects the runs of one variant
and gives medians and the spread over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

HEADERS_ENV = "BENCH_LOAD_HEADERS"


def load_average() -> str:
    """1-minute load average, printed with results: the machine is shared and noisy."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def proc_cpu_seconds(pid: int) -> float | None:
    """User+system CPU seconds of a process, from /proc (Linux); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def die_with_parent(sig: int = signal.SIGTERM):
    """A preexec_fn for Popen: ask Linux to send `sig` to the child if the parent dies."""

    def preexec() -> None:
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
        except Exception:
            pass  # not Linux: the parent's finally block is the only cleanup

    return preexec


def end_process(proc: subprocess.Popen) -> None:
    """SIGTERM a child that still runs, give it 5 s, then SIGKILL it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- parent side


def run_load(
    url: str,
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    watch_pids: Iterable[int] = (),
    headers: dict[str, str] | None = None,
) -> dict:
    """Run one measurement in a fresh load-generator process; returns its JSON result."""
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--url",
        url,
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--watch-pids",
        ",".join(str(p) for p in watch_pids),
    ]
    env = dict(os.environ, **{HEADERS_ENV: json.dumps(headers or {})})
    return run_json_child(cmd, env, timeout=warmup + duration + 60)


def run_json_child(cmd: list[str], env: dict[str, str], timeout: float) -> dict:
    """Run a load-generator child (this module, or a script's own) and return the JSON
    object it prints last; it is ended if it outlives `timeout` or this process."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, env=env, preexec_fn=die_with_parent()
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        end_process(proc)
        if proc.stdout:
            proc.stdout.close()
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


class OverRounds:
    """A figure over ``self.runs`` (one dict per round): its median, and its spread (the
    range over the median), for every benchmark that runs variants in rounds."""

    runs: list[dict]

    def median(self, key: str) -> float:
        return statistics.median(r[key] for r in self.runs)

    def spread(self, key: str) -> float:
        values = [r[key] for r in self.runs]
        return (max(values) - min(values)) / statistics.median(values)


@dataclass
class Result(OverRounds):
    """The runs (load generator results) of one variant over the rounds."""

    label: str
    runs: list[dict] = field(default_factory=list)

    def median_cpu(self, i: int, key: str = "cpu_watched") -> float | None:
        values = [r[key][i] for r in self.runs if r[key][i] is not None]
        return statistics.median(values) if values else None

    def errors(self) -> int:
        return sum(r["errors"] for r in self.runs)

    def error_kinds(self) -> dict[str, int]:
        kinds: Counter[str] = Counter()
        for r in self.runs:
            kinds.update(r.get("error_kinds", {}))
        return dict(kinds)


# --------------------------------------------------------------------------- child side


async def load(args) -> None:
    import aiohttp

    headers = json.loads(os.environ.get(HEADERS_ENV) or "{}")
    watch = [int(p) for p in args.watch_pids.split(",") if p]
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = time.perf_counter()
    record_from = start + args.warmup
    stop = record_from + args.duration
    marks: dict[str, object] = {}

    async def mark_window() -> None:
        await asyncio.sleep(max(0.0, record_from - time.perf_counter()))
        marks["cpu0"] = [proc_cpu_seconds(p) for p in watch], time.process_time()
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        marks["cpu1"] = [proc_cpu_seconds(p) for p in watch], time.process_time()

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop:
                return
            try:
                async with session.get(args.url, headers=headers) as resp:
                    await resp.read()
                    kind = None if resp.status == 200 else str(resp.status)
            except (TimeoutError, aiohttp.ClientError) as exc:
                kind = type(exc).__name__
            t1 = time.perf_counter()
            if record_from <= t1 < stop:  # completions inside the timed window
                if kind is None:
                    latencies.append(t1 - t0)
                else:
                    errors[kind] += 1

    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as session:
        await asyncio.gather(mark_window(), *(worker(session) for _ in range(args.concurrency)))

    (cpu0, self0), (cpu1, self1) = marks["cpu0"], marks["cpu1"]
    cpu_s = [None if a is None or b is None else b - a for a, b in zip(cpu0, cpu1, strict=True)]
    latencies.sort()
    n = len(latencies)

    def pick(q):
        return latencies[min(n - 1, int(q * n))] * 1000 if n else float("nan")

    print(
        json.dumps(
            {
                "rps": n / args.duration,
                "p50_ms": pick(0.50),
                "p95_ms": pick(0.95),
                "p99_ms": pick(0.99),
                "errors": sum(errors.values()),
                "error_kinds": dict(errors),
                "cpu_watched": [None if s is None else s / args.duration for s in cpu_s],
                "cpu_watched_s": cpu_s,
                "cpu_self": (self1 - self0) / args.duration,
            }
        ),
        flush=True,
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description="HTTP load generator used by the benchmarks: GETs one URL over "
        "keep-alive connections and prints one JSON line of results. Extra request "
        f"headers come from ${HEADERS_ENV} (a JSON object)."
    )
    p.add_argument("--url", required=True)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--duration", type=float, default=5.0, help="timed seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="untimed seconds first")
    p.add_argument("--watch-pids", default="", help="comma-separated pids to read CPU time of")
    args = p.parse_args(argv)
    import uvloop

    uvloop.run(load(args))


if __name__ == "__main__":
    main()

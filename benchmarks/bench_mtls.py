"""Micro-benchmark: what does optional mTLS (``MERCATO_MTLS=1``) cost per internal call?

Two servers, each its own process on 127.0.0.1, serving the same raw ASGI app (a ~300-byte
JSON answer) on uvicorn with uvloop and httptools as every service does: one plain HTTP,
one HTTPS with the chassis' TLS settings (``chassis/tls`` ``uvicorn_ssl``: the service's
certificate, client certificates required and checked against the local CA, made for the
run with ``ensure_pki`` in a temp dir). The client is this process: an aiohttp session as
the service client builds it (``TCPConnector(ssl=client_context(...))``: the caller's
certificate, the server's checked against the CA, host name included), sending one GET at
a time:

  keep-alive        every call on one kept-alive connection (the service client's normal
                    case: its pool keeps connections to each instance)
  new connection    a new TCP connection per call (``force_close``): plain = TCP connect,
                    mTLS = TCP connect + full TLS 1.3 handshake with client certificate

Per variant: wall µs per call, and CPU µs per call of the client (this process) and of
the server (from /proc). Variants interleaved over --rounds rounds, medians, ratio
mTLS / plain.

Run:  python benchmarks/bench_mtls.py          (about 40 s)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _load import die_with_parent, end_process, load_average, proc_cpu_seconds

HOST = "127.0.0.1"
BODY = json.dumps({"sku": "SKU-000123", "name": "Espresso cup, stoneware, 90 ml",
                   "price": {"amount": "12.50", "currency": "EUR"},
                   "stock": {"available": 42, "reserved": 3, "warehouse": "AMS-1"},
                   "tags": ["kitchen", "coffee", "stoneware", "gift"],
                   "updated_at": "2024-05-01T12:00:00Z", "pad": "x" * 60}).encode()


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})


def serve(port: int, data_dir: str | None) -> None:
    """The child: one uvicorn server, with the chassis' TLS settings when ``data_dir``."""
    import uvicorn

    from mercato.chassis.settings import load_settings
    from mercato.chassis.tls import uvicorn_ssl

    ssl_kwargs = uvicorn_ssl(load_settings(data_dir=Path(data_dir), mtls=True), "catalog") \
        if data_dir else {}
    uvicorn.run(app, host=HOST, port=port, loop="uvloop", http="httptools",
                access_log=False, log_config=None, lifespan="off", **ssl_kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start(data_dir: str | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", str(port)] + (["--tls", data_dir]
                                                              if data_dir else [])
    proc = subprocess.Popen(cmd, preexec_fn=die_with_parent())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    end_process(proc)
    raise RuntimeError("server did not start")


async def one_round(url: str, ssl_ctx, server_pid: int, n: int, fresh: bool
                    ) -> tuple[float, float, float]:
    """(wall µs, client CPU µs, server CPU µs) per call over ``n`` sequential calls."""
    import aiohttp

    connector = aiohttp.TCPConnector(ssl=ssl_ctx if ssl_ctx is not None else True,
                                     force_close=fresh)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(20):  # warm: connection (for keep-alive), caches
            async with session.get(url) as r:
                await r.read()
        srv0, cpu0, t0 = proc_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
        for _ in range(n):
            async with session.get(url) as r:
                await r.read()
                assert r.status == 200
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        srv = (proc_cpu_seconds(server_pid) or 0.0) - (srv0 or 0.0)
    return wall / n * 1e6, cpu / n * 1e6, srv / n * 1e6


async def measure(args, data_dir: str, plain_port: int, tls_port: int, tls_pid: int,
                  plain_pid: int) -> dict:
    from mercato.chassis.tls import TlsFiles, client_context
    from mercato.chassis.tls.pki import ca_path, cert_key_path, cert_path

    d = Path(data_dir)
    ctx = client_context(TlsFiles(cert_path(d, "orders"), cert_key_path(d, "orders"),
                                  ca_path(d)))
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        for mode, fresh, n in (("keep-alive", False, args.calls),
                               ("new connection", True, args.fresh_calls)):
            for side, url, c, pid in (("plain", f"http://{HOST}:{plain_port}/x", None,
                                       plain_pid),
                                      ("mtls", f"https://{HOST}:{tls_port}/x", ctx, tls_pid)):
                results.setdefault((mode, side), []).append(
                    await one_round(url, c, pid, n, fresh))
    return {k: tuple(statistics.median(x[i] for x in v) for i in range(3))
            for k, v in results.items()}


def table(medians: dict, args) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"mTLS per internal call, µs (median of {args.rounds} rounds; "
                    f"{args.calls} keep-alive / {args.fresh_calls} new-connection calls)")
    for col in ("call", "measure", "plain HTTP", "mTLS", "ratio", "added"):
        t.add_column(col, justify="left" if col in ("call", "measure") else "right")
    for mode in ("keep-alive", "new connection"):
        for i, what in enumerate(("wall", "client CPU", "server CPU")):
            p, m = medians[(mode, "plain")][i], medians[(mode, "mtls")][i]
            t.add_row(mode if i == 0 else "", what, f"{p:.1f}", f"{m:.1f}",
                      f"{m / p:.2f}×" if p else "-", f"{m - p:+.1f}")
    Console().print(t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3000, help="keep-alive calls a round")
    parser.add_argument("--fresh-calls", type=int, default=600,
                        help="new-connection calls a round")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tls", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.tls)
        return
    import uvloop

    from mercato.chassis.tls import ensure_pki

    with tempfile.TemporaryDirectory() as tmp:
        ensure_pki(tmp, ["catalog", "orders"])
        procs = []
        try:
            plain, plain_port = start(None)
            procs.append(plain)
            tls, tls_port = start(tmp)
            procs.append(tls)
            medians = uvloop.run(measure(args, tmp, plain_port, tls_port, tls.pid, plain.pid))
        finally:
            for p in procs:
                end_process(p)
    print(f"{os.cpu_count()} cores, loadavg {load_average()}", file=sys.stderr)
    table(medians, args)


if __name__ == "__main__":
    main()

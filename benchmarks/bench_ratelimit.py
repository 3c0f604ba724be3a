"""Micro-benchmark: what do the gateway's rate limits cost per request?

In one process, no network but Redis's: the real ``Gateway`` ASGI app is called directly
(a minimal ``receive``/``send``, an in-process fake upstream and token check, as in
tests/unit/gateway), so the time per request is the gateway's own Python work, without
uvicorn or sockets. Variants, interleaved over --rounds rounds, median reported:

  (a) no limiter                         (baseline)
  (b) in process, public read            2 buckets: client address, anonymous caller
  (c) in process, signed-in read         2 buckets: client address, user
  (d) in process, login                  4 buckets: + login per address, per email (JSON
                                         body parsed, email hashed)
  (e) in process, 10,000 addresses       (b) with a different client address each time
  (f) Redis, public read                 (b) with buckets in Redis: one EVALSHA round trip
  (g) Redis, 50 requests at once         (f) from 50 concurrent tasks (throughput)

(f) and (g) use the Redis at --redis (default redis://127.0.0.1:6379/0) under a key prefix
of their own, deleted at the end; they are left out, saying why, when it does not answer.
Limits are the defaults but far above the rate measured, so every request is admitted
(a refused request costs less: it stops before the upstream).

Run:  python benchmarks/bench_ratelimit.py            (about 15 s)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.unit.gateway helpers

import redis
from rich.console import Console
from rich.table import Table

from mercato.chassis.calls.registry import Instance
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from mercato.gateway.ratelimit import RateLimiter, RateLimitSettings
from mercato.gateway.ratelimit_redis import RedisBuckets
from tests.unit.gateway.test_gateway import (
    CUSTOMER,
    FakeAuth,
    FakeView,
    RecordingUpstreams,
)

LIMITS = {"rate_limit_per_client": "1000000/s burst 1000000",
          "rate_limit_per_user": "1000000/s burst 1000000",
          "login_rate_limit": "1000000/s burst 1000000",
          "login_rate_limit_per_email": "1000000/s burst 1000000"}


class Upstream(RecordingUpstreams):
    async def forward(self, service, method, path_qs, headers, body, repeatable, added=()):
        return 200, [(b"content-type", b"application/json")], b'{"ok": true}'


def gateway(tmp: str, limits: RateLimiter | None) -> Gateway:
    runtime = Runtime("gateway", load_settings(data_dir=Path(tmp)),
                      make_instance("gateway", 1, "http://gw", "1"))
    gw = Gateway(runtime)
    view = FakeView(Instance("catalog", "c-1", "http://c", "1", health="ready"),
                    Instance("identity", "i-1", "http://i", "1", health="ready"))
    runtime.view = view
    gw.upstreams, gw.auth, gw.limits = Upstream(view), FakeAuth(customer=CUSTOMER), limits
    return gw


def scope(method: str, path: str, client: str, headers: list) -> dict:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
            "query_string": b"", "headers": headers, "client": (client, 40000)}


READ = ("GET", "/api/v1/catalog/products/p1", [])
ME = ("GET", "/api/v1/identity/users/me", [(b"authorization", b"Bearer customer")])
LOGIN = ("POST", "/api/v1/identity/token", [(b"content-type", b"application/json")])
LOGIN_BODY = b'{"email": "ada@example.com", "password": "correct horse"}'


async def run(gw: Gateway, request: tuple, n: int, *, spread: bool = False,
              concurrency: int = 1, body: bytes = b"") -> float:
    """Seconds per request (wall time / n) for n requests."""
    method, path, headers = request
    message = {"type": "http.request", "body": body, "more_body": False}
    statuses: list[int] = []

    async def receive():
        return message

    async def send(event):
        if event["type"] == "http.response.start":
            statuses.append(event["status"])

    scopes = [scope(method, path, f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
                    if spread else "127.0.0.1", headers) for i in range(10_000 if spread else 1)]

    async def worker(count: int, offset: int) -> None:
        for i in range(count):
            await gw(scopes[(offset + i) % len(scopes)], receive, send)

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency, w * 997) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, f"not all admitted: {set(statuses)}"
    return elapsed / n


async def main(args) -> int:
    tmp = tempfile.mkdtemp(prefix="bench-ratelimit-")
    settings = RateLimitSettings(**LIMITS)
    local = RateLimiter(settings)
    prefix = f"bench-ratelimit:{uuid.uuid4().hex}:"
    probe = redis.Redis.from_url(args.redis, socket_connect_timeout=1, socket_timeout=1)
    try:
        probe.ping()
        shared = RateLimiter(settings, redis=RedisBuckets(args.redis, prefix=prefix,
                                                          timeout=1.0))
        why = ""
    except redis.exceptions.RedisError as exc:
        shared, why = None, f"(f), (g) left out: no Redis answers at {args.redis}: {exc}"
    n = args.requests
    variants = [
        ("(a) no limiter", gateway(tmp, None), READ, {}),
        ("(b) in process, public read", gateway(tmp, local), READ, {}),
        ("(c) in process, signed-in read", gateway(tmp, local), ME, {}),
        ("(d) in process, login (4 buckets)", gateway(tmp, local), LOGIN, {"body": LOGIN_BODY}),
        ("(e) in process, 10,000 addresses", gateway(tmp, local), READ, {"spread": True}),
    ]
    if shared is not None:
        variants += [("(f) Redis, public read", gateway(tmp, shared), READ, {"n": n // 10}),
                     ("(g) Redis, 50 at once", gateway(tmp, shared), READ,
                      {"n": n // 10, "concurrency": 50})]
    times: dict[str, list[float]] = {label: [] for label, *_ in variants}
    try:
        for _label, gw, request, opts in variants:  # warm up: imports, caches, script load
            await run(gw, request, 200, **{k: v for k, v in opts.items() if k != "n"})
        for _ in range(args.rounds):
            for label, gw, request, opts in variants:
                count = opts.get("n", n)
                kw = {k: v for k, v in opts.items() if k != "n"}
                times[label].append(await run(gw, request, count, **kw))
    finally:
        await local.close()
        if shared is not None:
            await shared.close()
            keys = list(probe.scan_iter(match=prefix + "*"))
            if keys:
                probe.delete(*keys)
        probe.close()
    print_table(args, times, why)
    return 0


def print_table(args, times: dict[str, list[float]], why: str) -> None:
    base = statistics.median(times["(a) no limiter"])
    best_base = min(times["(a) no limiter"])
    table = Table(title=f"Rate limits in the gateway's request path, {args.requests:,} requests "
                        f"x {args.rounds} rounds (Redis variants: 1/10 of the requests)")
    for col in ("variant", "µs/req median", "x no limiter", "added µs", "µs/req best",
                "added µs best", "req/s", "spread"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for label, values in times.items():
        med, best = statistics.median(values), min(values)
        table.add_row(label, f"{med * 1e6:.1f}", f"{med / base:.2f}",
                      f"{(med - base) * 1e6:+.1f}", f"{best * 1e6:.1f}",
                      f"{(best - best_base) * 1e6:+.1f}", f"{1 / med:,.0f}",
                      f"{(max(values) - min(values)) / med:.0%}")
    console = Console(width=140)
    console.print(f"bench_ratelimit  python {platform.python_version()}  "
                  f"redis-py {redis.__version__}  cpus={os.cpu_count()}  "
                  f"loadavg at end={os.getloadavg()[0]:.2f}")
    console.print(table)
    console.print("µs/req: wall time per request through Gateway.__call__ (ASGI, fake upstream, "
                  "no sockets but Redis's); median and best of the rounds. added: against (a). "
                  "spread = (max-min)/median. Other processes on the machine make the median "
                  "noisy; the best round is the cost without them.")
    if why:
        console.print(why)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=20_000, help="per variant and round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--redis", default=os.environ.get("MERCATO_REDIS_URL")
                   or "redis://127.0.0.1:6379/0")
    sys.exit(asyncio.run(main(p.parse_args())))

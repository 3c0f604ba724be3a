"""bench_checkout's load generator: one variant's load in a process of its own (aiohttp on
uvloop, plus nats-py for the order events), and the parent's call that runs it.

Parent side: `run_child(cfg, timeout)` starts `python benchmarks/_checkout_load.py` with the
variant's configuration (see `_checkout_setup.child_config`) in an environment variable (the
customers' tokens stay out of `ps`) and returns the JSON result it prints. Child side:
`child_main` sends the requests (open or closed loop), subscribes to OrderConfirmed and
OrderCancelled on the platform's NATS, reads the CPU and run-queue wait of the watched pids
at the edges of the timed window, drains the placed orders and summarizes the window.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import os
import sys
import time
import uuid
from datetime import datetime

from _load import proc_cpu_seconds, run_json_child
from _procfs import proc_wait_seconds
from nats.js.api import DeliverPolicy

CONFIG_ENV = "BENCH_CHECKOUT_CONFIG"
ADDRESS = {"name": "Bench Customer", "line1": "1 Load St", "city": "Benchtown",
           "postal_code": "B1", "country": "GB"}


def wall_of(iso_text: str) -> float:
    """Wall-clock seconds of an ISO 8601 timestamp (an envelope's or a saga step's)."""
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile; inf values (never confirmed) sort last."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def child_main(cfg: dict) -> dict:
    """Run one variant's load as `cfg` describes it and return the window's result."""
    import aiohttp

    kind, mode = cfg["kind"], cfg["mode"]
    gw, tokens, products = cfg["gateway"], cfg["tokens"], cfg["products"]
    watch: dict[str, int] = cfg["watch"]
    checkout = kind == "checkout"

    # wall-clock and perf_counter anchors: schedules run on perf_counter, event times
    # (occurred_at, NATS arrival) are wall clock
    perf0, wall0 = time.perf_counter(), time.time()

    def wall(p: float) -> float:
        return wall0 + (p - perf0)

    outcome: dict[str, tuple[str, float, float, str | None]] = {}  # id -> (status, recv, at, why)
    waiters: dict[str, asyncio.Future] = {}
    progress = asyncio.Event()  # set on every outcome received
    nc = None
    if checkout:
        import nats

        async def on_event(msg) -> None:
            recv = time.time()
            try:
                env = json.loads(msg.data)
                oid = env["payload"]["order_id"]
                at = wall_of(env["occurred_at"])
            except (ValueError, KeyError, TypeError):
                return
            if env.get("type") == "OrderConfirmed":
                outcome.setdefault(oid, ("confirmed", recv, at, None))
            else:
                outcome.setdefault(oid, ("cancelled", recv, at, env["payload"].get("reason")))
            progress.set()
            fut = waiters.pop(oid, None)
            if fut is not None and not fut.done():
                fut.set_result(None)

        from mercato.chassis.messaging.servers import nats_servers  # one URL or a cluster's

        nc = await nats.connect(nats_servers(cfg["nats_url"]), max_reconnect_attempts=3,
                                **cfg["nats_login"])
        # no user may subscribe to event subjects directly: an ordered consumer on the
        # stream, from new messages on (what `mercato events tail` does)
        js = nc.jetstream()
        for event in ("OrderConfirmed", "OrderCancelled"):
            await js.subscribe(f"mercato.orders.{event}", cb=on_event, stream="MERCATO_ORDERS",
                               ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
        await nc.flush()

    # one record per request: [due perf, done perf, ok, error kind, order id, post-done wall]
    recs: list[list] = []
    in_flight = [0, 0]  # now, max
    errors: collections.Counter[str] = collections.Counter()
    samples: dict[str, str] = {}  # error kind -> the start of its first response body

    def request_args(i: int) -> tuple[str, str, bytes | None, dict]:
        token = tokens[i % len(tokens)]
        if not checkout:
            return "GET", gw + cfg["read_path"], None, {}
        body = {"items": [{"product_id": products[i % len(products)], "quantity": 1}],
                "shipping_address": ADDRESS, "payment": {"card_token": "tok_ok"}}
        return "POST", gw + "/api/v1/orders", json.dumps(body).encode(), {
            "authorization": f"Bearer {token}", "content-type": "application/json",
            "idempotency-key": str(uuid.uuid4())}

    async def one(session, i: int, due: float) -> list:
        method, url, data, headers = request_args(i)
        rec = [due, 0.0, False, None, None, 0.0]
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        try:
            async with session.request(method, url, data=data, headers=headers) as resp:
                payload = await resp.read()
                want = 202 if checkout else 200
                if resp.status == want:
                    rec[2] = True
                    if checkout:
                        rec[4] = json.loads(payload)["id"]
                else:
                    rec[3] = f"HTTP {resp.status}"
                    samples.setdefault(rec[3], payload[:300].decode("utf-8", "replace"))
        except (TimeoutError, aiohttp.ClientError, ValueError, KeyError) as exc:
            rec[3] = type(exc).__name__
        finally:
            in_flight[0] -= 1
        rec[1] = time.perf_counter()
        rec[5] = wall(rec[1])
        recs.append(rec)
        return rec

    start = time.perf_counter() + 0.05
    record_from = start + cfg["warmup"]
    stop = record_from + cfg["duration"]
    marks: dict[str, tuple] = {}

    async def mark_window() -> None:
        await asyncio.sleep(max(0.0, record_from - time.perf_counter()))
        marks["cpu0"] = ({k: proc_cpu_seconds(p) for k, p in watch.items()},
                         time.process_time())
        marks["wait0"] = {k: proc_wait_seconds(p) for k, p in watch.items()}
        marks["wait0"]["load"] = proc_wait_seconds(os.getpid())
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        marks["cpu1"] = ({k: proc_cpu_seconds(p) for k, p in watch.items()},
                         time.process_time())
        marks["wait1"] = {k: proc_wait_seconds(p) for k, p in watch.items()}
        marks["wait1"]["load"] = proc_wait_seconds(os.getpid())

    lag: list[float] = []

    async def open_loop(session) -> None:
        tasks = set()
        i = 0
        while True:
            due = start + i / cfg["rate"]
            if due >= stop:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if due >= record_from:
                lag.append(time.perf_counter() - due)
            task = asyncio.create_task(one(session, i, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if tasks:
            await asyncio.wait(tasks)

    async def closed_worker(session, w: int) -> None:
        i = w
        while time.perf_counter() < stop:
            rec = await one(session, i, time.perf_counter())
            i += cfg["concurrency"]
            oid = rec[4]
            if checkout and oid and oid not in outcome:
                fut = asyncio.get_running_loop().create_future()
                waiters[oid] = fut
                try:
                    async with asyncio.timeout(cfg["order_timeout"]):
                        await fut
                except TimeoutError:
                    waiters.pop(oid, None)
            elif not rec[2]:
                await asyncio.sleep(0.05)  # do not spin on an error

    timeout = aiohttp.ClientTimeout(total=cfg["request_timeout"])
    connector = aiohttp.TCPConnector(limit=cfg["max_connections"])
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if mode == "open":
            await asyncio.gather(mark_window(), open_loop(session))
        else:
            await asyncio.gather(mark_window(), *(closed_worker(session, w)
                                                  for w in range(cfg["concurrency"])))
    sent_end = time.perf_counter()

    # drain: every placed order should end confirmed or cancelled
    drained = 0.0
    if checkout:
        placed = [r[4] for r in recs if r[4]]
        deadline = sent_end + cfg["drain"]
        left = [o for o in placed if o not in outcome]
        # until every placed order has ended, and then no outcome came for a second (orders
        # whose POST failed may still be confirmed: they count as orphans)
        quiet_for = 1.0
        while (wait := deadline - time.perf_counter()) > 0:
            progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait if left else min(wait, quiet_for)):
                    await progress.wait()
            if not progress.is_set() and not left:
                break  # a quiet second with nothing left
            left = [o for o in left if o not in outcome]
        drained = max(0.0, time.perf_counter() - sent_end - (0.0 if left else quiet_for))
        await nc.close()

    (cpu0, self0), (cpu1, self1) = marks["cpu0"], marks["cpu1"]
    cpu_s = {k: (None if cpu0[k] is None or cpu1[k] is None else cpu1[k] - cpu0[k])
             for k in watch}
    cpu_s["load"] = self1 - self0
    w0, w1 = marks["wait0"], marks["wait1"]
    wait_s = {k: (None if w0[k] is None or w1[k] is None else w1[k] - w0[k]) for k in w0}

    window = [r for r in recs if record_from <= r[0] < stop]  # requests due in the window
    req_ms = [(r[1] - r[0]) * 1000 for r in window if r[2]]
    for r in window:
        if not r[2]:
            errors[r[3]] += 1
    result = {
        "kind": kind, "mode": mode, "duration": cfg["duration"],
        "offered": len(window) / cfg["duration"],
        "req_p50_ms": pct(req_ms, 0.50), "req_p99_ms": pct(req_ms, 0.99),
        "in_flight_max": in_flight[1],
        "lag_p99_ms": pct(lag, 0.99) * 1000 if lag else None,
        "cpu_s": cpu_s, "wait_s": wait_s, "drain_s": drained,
        "error_samples": samples,
    }
    if checkout:
        conf_ms, relay_ms, sample = [], [], []
        confirmed_in_window = sum(1 for st, recv, _, _ in outcome.values()
                                  if st == "confirmed" and wall(record_from) <= recv < wall(stop))
        for r in window:
            oid = r[4]
            if not oid:
                continue
            got = outcome.get(oid)
            if got is None:
                errors["unconfirmed"] += 1
                conf_ms.append(math.inf)
            elif got[0] == "cancelled":
                errors[f"cancelled:{got[3]}"] += 1
            else:
                conf_ms.append((got[1] - wall(r[0])) * 1000)
                relay_ms.append((got[1] - got[2]) * 1000)
                sample.append({"id": oid, "due": wall(r[0]), "posted": r[5], "recv": got[1],
                               "at": got[2]})
        step = max(1, len(sample) // cfg["saga_sample"])
        known = {r[4] for r in recs if r[4]}
        result.update({
            # orders whose POST failed (e.g. the gateway's 503 after its call timeout) but
            # which orders placed anyway: confirmed, and the client never learned their id
            "orphans": sum(1 for oid in outcome if oid not in known),
            "done_rps": confirmed_in_window / cfg["duration"],
            "conf_p50_ms": pct(conf_ms, 0.50), "conf_p99_ms": pct(conf_ms, 0.99),
            "relay_p50_ms": pct(relay_ms, 0.50), "relay_p99_ms": pct(relay_ms, 0.99),
            "placed_in_window": sum(1 for r in window if r[4]),
            "sample": sample[::step][:cfg["saga_sample"]],
        })
    else:
        result["done_rps"] = sum(1 for r in recs if r[2] and record_from <= r[1] < stop) \
            / cfg["duration"]
    result["errors"] = dict(errors)
    return result


def child_entry() -> None:
    """The load process: its configuration from the environment, its result as one JSON line."""
    cfg = json.loads(os.environ[CONFIG_ENV])
    import uvloop

    print(json.dumps(uvloop.run(child_main(cfg)), allow_nan=True), flush=True)


def run_child(cfg: dict, timeout: float) -> dict:
    """Run one variant's load in a fresh process; returns its JSON result."""
    env = dict(os.environ, **{CONFIG_ENV: json.dumps(cfg)})  # tokens stay out of `ps`
    return run_json_child([sys.executable, os.path.abspath(__file__)], env, timeout)


if __name__ == "__main__":
    child_entry()

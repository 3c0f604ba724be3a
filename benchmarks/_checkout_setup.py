"""bench_checkout's platform side: the processes it watches, the products, stock and
customers it creates through the public API, the variants and the configuration of their
load process, and the saga steps of a sample of orders read back (GET /api/v1/ops/sagas)."""

from __future__ import annotations

import collections
import itertools
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _checkout_load import ADDRESS, wall_of
from _platform import ADMIN, call

try:
    from mercato.platform.running import login
except ImportError:
    try:  # a tree from before src/mercato/cli's platform modules moved to mercato.platform
        from mercato.cli.running import login
    except ImportError:  # a --baseline-src tree from before NATS had users: no login needed
        def login(_data_dir: Path) -> dict[str, str]:
            return {}

SERVICES = ("gateway", "orders", "inventory", "payments", "shipping", "notifications",
            "catalog", "identity", "cart")
# CPU columns: the services, then the broker, the trace store (when `mercato up` runs one),
# the supervisor and the load generator.
PROCS = (*SERVICES, "nats", "traces", "up", "load")
T0 = time.monotonic()


def log(msg: str) -> None:
    """A progress line on stderr, with the seconds since the benchmark started."""
    print(f"[{time.monotonic() - T0:5.0f}s] {msg}", file=sys.stderr, flush=True)


def post(url: str, body: dict, token: str | None = None, headers: dict | None = None) -> dict:
    """POST JSON (with extra headers, e.g. an Idempotency-Key); any answer but a 2xx raises."""
    import urllib.error
    import urllib.request

    sent = {"content-type": "application/json", **(headers or {})}
    if token:
        sent["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=sent,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"POST {url} -> {exc.code}: {exc.read()[:500]!r}") from None


class Setup:
    """Products, stock and customers, created through the public API."""

    def __init__(self, gw: str, args) -> None:
        self.gw = gw
        self.args = args
        self.admin = ""
        self.products: list[str] = []
        self.customers: list[dict] = []
        self.tokens: list[str] = []
        self.tokens_at = 0.0
        self.nats_login: dict[str, str] = {}

    def run(self) -> None:
        gw, tag = self.gw, uuid.uuid4().hex[:8]
        self.admin = call("POST", f"{gw}/api/v1/identity/token", ADMIN)["access_token"]

        def product(i: int) -> str:
            p = call("POST", f"{gw}/api/v1/catalog/products",
                     {"sku": f"BENCH-{tag}-{i}", "name": f"Bench {i}", "description": "x",
                      "category": "bench", "price": 1000 + i, "currency": "USD"}, self.admin)
            post(f"{gw}/api/v1/inventory/stock/{p['id']}/adjustments",
                 {"delta": self.args.stock, "reason": "bench_checkout stock"}, self.admin)
            return p["id"]

        def customer(i: int) -> dict:
            who = {"email": f"bench-{tag}-{i}@example.com", "password": "bench password 1",
                   "name": f"Bench {i}"}
            call("POST", f"{gw}/api/v1/identity/users", who)
            return who

        with ThreadPoolExecutor(8) as pool:  # argon2 hashing makes users slow one by one
            self.products = list(pool.map(product, range(self.args.products)))
            self.customers = list(pool.map(customer, range(self.args.customers)))
        self.login()

    def login(self) -> None:
        def token(who: dict) -> str:
            return call("POST", f"{self.gw}/api/v1/identity/token",
                        {"email": who["email"], "password": who["password"]})["access_token"]

        with ThreadPoolExecutor(8) as pool:
            self.tokens = list(pool.map(token, self.customers))
        self.admin = call("POST", f"{self.gw}/api/v1/identity/token", ADMIN)["access_token"]
        self.tokens_at = time.monotonic()

    def fresh(self) -> None:
        if time.monotonic() - self.tokens_at > 600:  # access tokens live 900 s
            self.login()

    def smoke(self) -> None:
        """One order end to end (POST, then GET until it is not pending)."""
        order = post(f"{self.gw}/api/v1/orders",
                     {"items": [{"product_id": self.products[0], "quantity": 1}],
                      "shipping_address": ADDRESS, "payment": {"card_token": "tok_ok"}},
                     self.tokens[0], {"idempotency-key": str(uuid.uuid4())})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = call("GET", f"{self.gw}/api/v1/orders/{order['id']}", token=self.tokens[0])
            if got["status"] != "pending":
                if got["status"] != "confirmed":
                    raise RuntimeError(f"the smoke-test order ended {got['status']}: {got}")
                return
            time.sleep(0.1)
        raise RuntimeError("the smoke-test order was still pending after 30 s")


STEP_NAMES = ("reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
              "confirm_order")


def saga_phases(gw: str, admin: str, sample: list[dict]) -> dict[str, list[float]]:
    """Where each sampled order's POST->confirmed time went (ms), from its saga's steps
    (GET /api/v1/ops/sagas/<id>: each step's started_at and finished_at)."""
    phases: dict[str, list[float]] = collections.defaultdict(list)
    for s in sample:
        try:
            saga = call("GET", f"{gw}/api/v1/ops/sagas/{s['id']}", token=admin)
        except RuntimeError:
            continue
        steps = {st["name"]: st for st in saga.get("steps", [])}
        if any(n not in steps or not steps[n].get("started_at") or
               not steps[n].get("finished_at") for n in STEP_NAMES):
            continue
        t = {n: (wall_of(steps[n]["started_at"]), wall_of(steps[n]["finished_at"]))
             for n in STEP_NAMES}
        phases["due -> reserve starts (POST, place_order)"].append(
            (t["reserve_stock"][0] - s["due"]) * 1000)
        gaps = 0.0
        for a, b in itertools.pairwise(STEP_NAMES):
            gaps += t[b][0] - t[a][1]
        for n in STEP_NAMES:
            phases[f"step {n} (call)"].append((t[n][1] - t[n][0]) * 1000)
        phases["between steps (4 gaps: save, reload, loop)"].append(gaps * 1000)
        phases["confirm done -> confirmed recorded"].append(
            (s["at"] - t["confirm_order"][1]) * 1000)
        phases["recorded -> OrderConfirmed received (relay)"].append(
            (s["recv"] - s["at"]) * 1000)
        phases["total: due -> OrderConfirmed received"].append((s["recv"] - s["due"]) * 1000)
    return phases


# --------------------------------------------------------------------------- the variants

VARIANTS = [  # label, kind, mode, index of its baseline
    ("(a) read, open loop", "read", "open", 0),
    ("(b) checkout, open loop", "checkout", "open", 0),
    ("(c) read, closed loop", "read", "closed", 2),
    ("(d) checkout, closed loop", "checkout", "closed", 2),
]


def child_config(kind: str, mode: str, args, setup: Setup, nats_url: str,
                 watch: dict[str, int], duration: float | None = None) -> dict:
    """The load process's configuration for one variant (`duration` overrides the args')."""
    if duration is None:
        duration = args.duration if kind == "checkout" else args.read_duration
    return {
        "kind": kind, "mode": mode, "gateway": setup.gw, "rate": args.rate,
        "concurrency": args.concurrency, "warmup": args.warmup, "duration": duration,
        "drain": args.drain, "order_timeout": args.drain, "request_timeout": 30.0,
        "max_connections": args.max_connections, "tokens": setup.tokens,
        "products": setup.products, "read_path": f"/api/v1/catalog/products/{setup.products[0]}",
        "nats_url": nats_url, "nats_login": setup.nats_login, "watch": watch,
        "saga_sample": args.saga_sample,
    }


def child_timeout(cfg: dict) -> float:
    """How long the load process may take before it is ended."""
    return cfg["warmup"] + cfg["duration"] + cfg["drain"] + 60



"""Checkout under chaos (docs/checkout.md §5): 200+ orders through the gateway from a few
threads, mixed cards, some products running out, while orders, inventory, payments and
shipping are SIGKILLed at random moments. Once the load and the kills are over, every
order is terminal within 60 s, and the invariants hold, checked through the public API
alone (and with ``mercato verify``, when it exists):

- per product: on hand = available + reserved + sold, nothing left reserved, on hand
  unchanged, sold = the quantities of the confirmed orders;
- a confirmed order has exactly one captured payment, of its total, and one scheduled
  shipment; a cancelled order has no captured payment and no scheduled shipment;
- a POST retried with its Idempotency-Key never made a second order;
- each card ends the way it must: tok_ok confirmed, tok_decline payment_declined,
  tok_error payment_unavailable (any of them may be out_of_stock instead).

``MERCATO_CHAOS_SEED`` replays a run's random choices (kills' timing still depends on
the machine). The summary is printed even when the test passes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.system.platform import ADDRESS, Platform

KILLED = ("orders", "inventory", "payments", "shipping")
# (stock, price, weight): three with plenty, three that run out though chosen less often.
PRODUCTS = [(400, 1500, 5), (400, 2490, 5), (400, 999, 5), (15, 4000, 1), (10, 7250, 1),
            (6, 12000, 1)]
CUSTOMERS = 20
THREADS = 6
MIN_ORDERS = 200
KILLS = (10, 15)  # how many, at random within
KILL_GAP = (1.5, 4.0)  # seconds between two kills, at random within
CARDS = ["tok_ok"] * 16 + ["tok_decline"] * 3 + ["tok_error"]
EXPECTED = {  # what each card may end as (out of stock can come first for any of them)
    "tok_ok": {("confirmed", None), ("cancelled", "out_of_stock")},
    "tok_decline": {("cancelled", "payment_declined"), ("cancelled", "out_of_stock")},
    "tok_error": {("cancelled", "payment_unavailable"), ("cancelled", "out_of_stock")},
}
SETTLE = 60.0  # every order terminal within this after the last kill and the last POST
PLACE_DEADLINE = 90.0  # one POST, retried, must be answered 202 within this
LOAD_LIMIT = 150.0  # the load stops by then whatever happens


@dataclass
class Placed:
    order_id: str
    token: str
    customer: int
    card: str
    items: dict[str, int]
    total: int
    attempts: int


@dataclass
class Kill:
    at: float
    service: str
    pid: int


@dataclass
class Run:
    """What the threads share; lists are appended under the GIL, counters under a lock."""

    placed: list[Placed] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    retries: Counter = field(default_factory=Counter)  # why a POST was sent again
    refusals: list[str] = field(default_factory=list)  # a valid token refused: a bug
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    killer_done: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)

    def retried(self, why: str) -> None:
        with self.lock:
            self.retries[why] += 1


# -- the load ----------------------------------------------------------------------------

def place(http: httpx.Client, token: str, body: dict, run: Run) -> tuple[dict, int]:
    """POST one order, retrying a 5xx after its Retry-After (and a dropped connection)
    with the same Idempotency-Key, so a retry can never make a second order."""
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    deadline = time.monotonic() + PLACE_DEADLINE
    attempts = 0
    while True:
        attempts += 1
        try:
            r = http.post("/api/v1/orders", json=body, headers=headers)
        except httpx.TransportError as exc:
            run.retried(type(exc).__name__)
            wait = 0.5
        else:
            if r.status_code == 202:
                return r.json(), attempts
            if r.status_code == 401:  # a valid token: wrong, but keep going to see more
                run.refusals.append(f"POST /api/v1/orders: {r.text}")
                run.retried("401")
                wait = 1.0
            elif r.status_code < 500:
                raise AssertionError(f"POST /api/v1/orders answered {r.status_code}: {r.text}")
            else:
                run.retried(str(r.status_code))
                wait = float(r.headers.get("retry-after", "1"))
        if time.monotonic() + wait > deadline or run.abort.is_set():
            raise AssertionError(f"POST /api/v1/orders (key {key}) not accepted within "
                                 f"{PLACE_DEADLINE}s after {attempts} attempts")
        time.sleep(wait)


def pick(rng: random.Random, products: list[dict], weights: list[int], k: int) -> list[dict]:
    """``k`` distinct products, each drawn by weight."""
    chosen: list[dict] = []
    while len(chosen) < k:
        product = rng.choices(products, weights)[0]
        if product not in chosen:
            chosen.append(product)
    return chosen


def shopper(p: Platform, n: int, seed: int, customers: list[str], products: list[dict],
            run: Run, started: float) -> None:
    rng = random.Random(seed * 1000 + n)
    try:
        with httpx.Client(base_url=p.url, timeout=10) as http:
            while not run.abort.is_set():
                enough = run.killer_done.is_set() and len(run.placed) >= MIN_ORDERS
                if enough or time.monotonic() - started > LOAD_LIMIT:
                    return
                customer = rng.randrange(len(customers))
                chosen = pick(rng, products, [w for _, _, w in PRODUCTS], rng.choice((1, 1, 2)))
                items = {pr["id"]: rng.choice((1, 1, 2)) for pr in chosen}
                card = rng.choice(CARDS)
                body = {"items": [{"product_id": k, "quantity": q} for k, q in items.items()],
                        "shipping_address": dict(ADDRESS), "payment": {"card_token": card}}
                answer, attempts = place(http, customers[customer], body, run)
                run.placed.append(Placed(answer["id"], customers[customer], customer, card,
                                         items, answer["total"], attempts))
                time.sleep(rng.uniform(0.2, 0.8))
    except BaseException as exc:
        run.errors.append(exc)
        run.abort.set()


# -- the killer --------------------------------------------------------------------------

def is_ours(pid: int, data_dir: Path, service: str) -> bool:
    """A live `mercato serve <service>` of this platform (never a reused pid of another)."""
    proc = Path(f"/proc/{pid}")
    try:
        environ = (proc / "environ").read_bytes().split(b"\0")
        argv = (proc / "cmdline").read_bytes().split(b"\0")
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return (f"MERCATO_DATA_DIR={data_dir}".encode() in environ and b"serve" in argv
            and service.encode() in argv and state not in ("Z", "X"))


def live_pid(http: httpx.Client, p: Platform, service: str, timeout: float = 30.0) -> int:
    """The pid of ``service``'s running instance, from the gateway's registry view (an
    entry of an instance killed a moment ago may still be there: its pid is dead)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = http.get("/api/v1/ops/services")
        assert r.status_code == 200, r.text
        for item in r.json()["items"]:
            if item["service"] == service and is_ours(item["pid"], p.data_dir, service):
                return item["pid"]
        time.sleep(0.2)
    raise AssertionError(f"no live instance of {service} registered within {timeout}s")


def killer(p: Platform, admin: str, schedule: list[str], seed: int, run: Run) -> None:
    rng = random.Random(seed)
    try:
        with p.client(admin) as http:
            for service in schedule:
                if run.abort.wait(rng.uniform(*KILL_GAP)):
                    return
                pid = live_pid(http, p, service)
                os.kill(pid, signal.SIGKILL)
                run.kills.append(Kill(time.monotonic(), service, pid))
    except BaseException as exc:
        run.errors.append(exc)
        run.abort.set()
    finally:
        run.killer_done.set()


# -- reading the outcome through the API --------------------------------------------------

def get_json(http: httpx.Client, path: str, token: str, refusals: list[str], **params
             ) -> dict:
    """GET through the gateway, waiting out 503s (a service still restarting); a 401 to a
    valid token is noted in ``refusals`` and tried again."""
    for _ in range(120):
        r = http.get(path, params=params or None, headers={"Authorization": f"Bearer {token}"})
        if r.status_code == 401:
            refusals.append(f"GET {path}: {r.text}")
        elif r.status_code != 503:
            break
        time.sleep(float(r.headers.get("retry-after", "1")))
    assert r.status_code == 200, f"GET {path} {params}: {r.status_code} {r.text}"
    return r.json()


def orders_of(http: httpx.Client, customers: list[str], run: Run) -> dict[str, dict]:
    """Every order of every customer, by id, as orders lists them."""
    found: dict[str, dict] = {}
    for token in customers:
        for order in get_json(http, "/api/v1/orders", token, run.refusals, limit=100)["items"]:
            found[order["id"]] = order
    return found


def wait_settled(http: httpx.Client, customers: list[str], run: Run,
                 deadline: float) -> tuple[dict[str, dict], list[str]]:
    """Each order's own page once none is pending, or at the deadline, with the orders
    still pending (or missing from their customer's list). The customers' lists are
    polled first (cheap); then every order's page is read until none is pending there."""
    while True:
        listed = orders_of(http, customers, run)
        pending = {o.order_id for o in run.placed
                   if listed.get(o.order_id, {}).get("status", "pending") == "pending"}
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    details: dict[str, dict] = {}
    todo = run.placed
    while True:
        for o in todo:
            details[o.order_id] = get_json(http, f"/api/v1/orders/{o.order_id}", o.token,
                                           run.refusals)
        todo = [o for o in todo if details[o.order_id]["status"] == "pending"]
        if not todo or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return details, sorted(pending | {o.order_id for o in todo})


def saga_of(http: httpx.Client, admin: str, order_id: str) -> str:
    """The saga's state, if the gateway has the ops route (docs/checkout.md §1)."""
    r = http.get(f"/api/v1/ops/sagas/{order_id}", headers={"Authorization": f"Bearer {admin}"})
    return r.text[:2000] if r.status_code == 200 else f"(no saga route: {r.status_code})"


def log_lines(p: Platform, needle: str, limit: int = 20) -> list[str]:
    found = []
    for log in sorted((p.data_dir / "logs").glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if needle in line:
                found.append(f"{log.name}: {line[:400]}")
    return found[-limit:]


def check_invariants(http: httpx.Client, products: list[dict], stocks: dict[str, int],
                     run: Run, seen: dict[str, dict], listed: dict[str, dict]) -> list[str]:
    """Every violation found, in words (empty when all hold). ``seen``: each order's own
    page; ``listed``: the customers' order lists, read after."""
    bad: list[str] = []
    placed = run.placed
    ids = {o.order_id for o in placed}
    if len(ids) != len(placed):
        bad.append(f"two POSTs were answered with the same order id: {len(placed)} POSTs, "
                   f"{len(ids)} ids")
    extra = sorted(set(listed) - ids)
    if extra:  # a retried POST made a second order, or an order nobody asked for
        bad.append(f"{len(extra)} orders exist that no POST was answered with: {extra[:5]}")
    for o in placed:
        mine, there = seen[o.order_id], listed.get(o.order_id)
        if there is None or there["status"] != mine["status"] or (
                "reason" in there and there["reason"] != mine["reason"]):
            bad.append(f"order {o.order_id} is {mine['status']} ({mine['reason']}) but its "
                       f"customer's list says {there}")
    sold: Counter = Counter()
    for o in placed:
        order = seen[o.order_id]
        items = {i["product_id"]: i["quantity"] for i in order["items"]}
        if items != o.items or order["total"] != o.total:
            bad.append(f"order {o.order_id} is not what was asked: {order['items']}")
        if order["status"] == "confirmed":
            sold.update(items)
        outcome = (order["status"], order["reason"])
        if outcome not in EXPECTED[o.card]:
            bad.append(f"order {o.order_id} paid with {o.card} ended {outcome}")
        pays = get_json(http, "/api/v1/payments", o.token, run.refusals,
                        order_id=o.order_id)["items"]
        captured = [x for x in pays if x["status"] == "captured"]
        ships = get_json(http, "/api/v1/shipping/shipments", o.token, run.refusals,
                         order_id=o.order_id)["items"]
        scheduled = [s for s in ships if s["status"] == "scheduled"]
        if order["status"] == "confirmed":
            if len(captured) != 1 or captured[0]["amount"] != order["total"]:
                bad.append(f"confirmed order {o.order_id} (total {order['total']}) has "
                           f"payments {[(x['status'], x['amount']) for x in pays]}")
            if len(scheduled) != 1:
                bad.append(f"confirmed order {o.order_id} has shipments "
                           f"{[s['status'] for s in ships]}")
        else:
            if captured:
                bad.append(f"cancelled order {o.order_id} ({order['reason']}) has a captured "
                           f"payment: {[(x['status'], x['amount']) for x in pays]}")
            if scheduled:
                bad.append(f"cancelled order {o.order_id} ({order['reason']}) has a "
                           f"scheduled shipment")
    for product in products:
        pid = product["id"]
        r = http.get(f"/api/v1/inventory/stock/{pid}")
        assert r.status_code == 200, r.text
        s = r.json()
        if s["on_hand"] != s["available"] + s["reserved"] + s["sold"]:
            bad.append(f"stock of {pid} does not add up: {s}")
        if s["on_hand"] != stocks[pid]:
            bad.append(f"stock on hand of {pid} changed from {stocks[pid]}: {s}")
        if s["reserved"]:
            bad.append(f"{s['reserved']} units of {pid} still reserved after every order "
                       f"ended: {s}")
        if s["sold"] != sold[pid]:
            bad.append(f"{pid}: sold {s['sold']}, but confirmed orders hold {sold[pid]}: {s}")
    return bad


def run_verify(p: Platform) -> tuple[int, str]:
    """``mercato verify --wait-idle 30`` against this platform."""
    done = subprocess.run([sys.executable, "-m", "mercato", "verify", "--wait-idle", "30"],
                          env=p.env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


# -- the test ----------------------------------------------------------------------------

@pytest.mark.timeout(420)
def test_checkout_keeps_its_invariants_while_services_are_killed(chaos_platform, capsys):
    p = chaos_platform
    seed = int(os.environ.get("MERCATO_CHAOS_SEED") or random.randrange(10**6))
    rng = random.Random(seed)
    admin = p.admin_token()
    products = [p.new_product(stock=stock, price=price) for stock, price, _ in PRODUCTS]
    stocks = {pr["id"]: stock for pr, (stock, _, _) in zip(products, PRODUCTS, strict=True)}
    customers = [p.new_customer()[0] for _ in range(CUSTOMERS)]
    schedule = list(KILLED) + [rng.choice(KILLED) for _ in range(rng.randint(*KILLS) - 4)]
    rng.shuffle(schedule)

    run = Run()
    started = time.monotonic()
    threads = [threading.Thread(target=shopper, name=f"shopper-{n}",
                                args=(p, n, seed, customers, products, run, started))
               for n in range(THREADS)]
    threads.append(threading.Thread(target=killer, name="killer",
                                    args=(p, admin, schedule, seed, run)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(LOAD_LIMIT + PLACE_DEADLINE + 30)
    assert not any(t.is_alive() for t in threads), "the load did not stop"
    if run.errors:
        raise run.errors[0]
    load_seconds = time.monotonic() - started
    chaos_over = max([k.at for k in run.kills] + [time.monotonic()])

    with httpx.Client(base_url=p.url, timeout=30) as http:
        seen, stuck = wait_settled(http, customers, run, chaos_over + SETTLE)
        settle_seconds = time.monotonic() - chaos_over
        if stuck:
            detail = "\n".join(f"{oid}: {seen.get(oid, 'not listed')}\n"
                               f"saga: {saga_of(http, admin, oid)}\n"
                               + "\n".join(log_lines(p, oid)) for oid in stuck[:3])
            raise AssertionError(f"{len(stuck)} orders not terminal {SETTLE:.0f}s after the "
                                 f"chaos: {stuck[:10]}\nseed {seed}, kills {run.kills}, data "
                                 f"dir {p.data_dir}\n{detail}")
        violations = check_invariants(http, products, stocks, run, seen,
                                      orders_of(http, customers, run))
    verify_code, verify_output = run_verify(p)

    outcomes = Counter((seen[o.order_id]["status"], seen[o.order_id]["reason"])
                       for o in run.placed)
    by_card: dict[str, Counter] = defaultdict(Counter)
    for o in run.placed:
        by_card[o.card][seen[o.order_id]["reason"] or "confirmed"] += 1
    killed = Counter(k.service for k in run.kills)
    summary = "\n".join([
        "",
        f"== checkout chaos (seed {seed}, data dir {p.data_dir})",
        f"orders placed: {len(run.placed)} in {load_seconds:.1f}s from {THREADS} threads; "
        f"POST retries: {dict(run.retries) or 'none'}; "
        f"most attempts for one POST: {max(o.attempts for o in run.placed)}",
        f"confirmed: {outcomes[('confirmed', None)]}; cancelled: "
        + ", ".join(f"{reason} {n}" for (status, reason), n in sorted(
            outcomes.items(), key=str) if status == "cancelled"),
        "by card: " + "; ".join(f"{card} {dict(c)}" for card, c in sorted(by_card.items())),
        f"kills: {len(run.kills)} ({', '.join(f'{s} {n}' for s, n in sorted(killed.items()))})"
        f" at {', '.join(f'{k.at - started:.1f}s {k.service}' for k in run.kills)}",
        f"all terminal {settle_seconds:.1f}s after the last kill / POST",
        "stock: " + "; ".join(
            f"{pr['id'][:8]} {stocks[pr['id']]} on hand" for pr in products),
        f"invariants: {'all hold' if not violations else f'{len(violations)} violations'}",
        f"mercato verify: exit {verify_code}",
        f"valid tokens refused (401): {len(run.refusals)}",
    ])
    (p.data_dir.parent / "summary.txt").write_text(summary + "\n" + verify_output)
    with capsys.disabled():
        print(summary)
        if verify_code != 0:
            print(verify_output)

    assert len(run.placed) >= MIN_ORDERS
    assert KILLS[0] <= len(run.kills) <= KILLS[1] and set(killed) == set(KILLED), run.kills
    up_output = p.output.read_text()
    for service in KILLED:  # the supervisor saw each death and restarted the service
        assert f"{service}-1 exited" in up_output
    assert outcomes[("confirmed", None)] > 0
    assert outcomes[("cancelled", "out_of_stock")] > 0, "no product ran out"
    assert not violations, "\n".join([summary, *violations[:30]])
    assert verify_code == 0, f"mercato verify failed:\n{verify_output}"
    assert not run.refusals, (f"{len(run.refusals)} requests with a valid token were "
                              f"refused: {run.refusals[:5]}")

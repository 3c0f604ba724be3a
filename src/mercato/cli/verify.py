"""``mercato verify``: the invariants of ARCHITECTURE §3, checked from the services' own
data (``GET /internal/facts`` on each, with a service token) and the broker's consumers.

The checks are pure functions over ``Facts``; ``gather`` reads the facts of a running
platform one service after another (participants first, orders last, so every order a
participant has heard of is known to orders). They are not one snapshot: while orders
are in flight a check may fail for a moment, so ``--wait-idle`` re-checks until all hold
or the time is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.messaging.streams import DLQ_STREAM
from mercato.chassis.security import ServiceTokens
from mercato.chassis.settings import Settings
from mercato.cli.running import connect, running_state, service_secret

PUBLISHERS = ("catalog", "identity", "inventory", "orders", "payments", "shipping")
FETCH_ORDER = (("catalog", "identity", "inventory", "payments", "shipping"), ("orders",))
SHOWN = 5  # violations named per invariant; the count covers them all
CHARGED = ("captured", "refunded")  # a refunded payment was captured first


@dataclass
class Facts:
    services: dict[str, dict] = field(default_factory=dict)  # service -> its facts
    missing: dict[str, str] = field(default_factory=dict)  # service -> why none
    consumers: list[dict] | None = None  # durable: stream, consumer, pending counts
    dead_letters: int = 0
    broker_error: str | None = None


@dataclass
class Check:
    number: int
    name: str
    ok: bool
    figures: str
    violations: list[str] = field(default_factory=list)  # the first few
    count: int = 0  # all violations


def invariant(number: int, name: str, *needs: str):
    """A check over facts: it returns (figures, violations); missing facts fail it."""
    def wrap(fn: Callable[[Facts], tuple[str, list[str]]]) -> Callable[[Facts], Check]:
        def run(facts: Facts) -> Check:
            absent = [s for s in needs if s not in facts.services]
            if absent:
                why = [f"{s}: {facts.missing.get(s, 'not asked')}" for s in absent]
                return Check(number, name, False, f"no facts from {', '.join(absent)}",
                             why, len(why))
            figures, violations = fn(facts)
            return Check(number, name, not violations, figures, violations[:SHOWN],
                         len(violations))
        run.__name__ = fn.__name__
        return run
    return wrap


def _statuses(facts: Facts) -> dict[str, str]:
    return {o["order_id"]: o["status"] for o in facts.services["orders"]["orders"]}


@invariant(1, "stock conserved", "inventory")
def stock_conserved(facts: Facts) -> tuple[str, list[str]]:
    products = facts.services["inventory"]["products"]
    bad = []
    for p in products:
        parts = (p["available"], p["reserved"], p["sold"])
        if p["on_hand"] != sum(parts) or min(p["on_hand"], *parts) < 0:
            bad.append(f"product {p['product_id']}: on_hand {p['on_hand']}, available "
                       f"{parts[0]}, reserved {parts[1]}, sold {parts[2]}")
    total = {k: sum(p[k] for p in products) for k in ("on_hand", "available", "reserved",
                                                        "sold")}
    return (f"{len(products)} products: on_hand {total['on_hand']} = available "
            f"{total['available']} + reserved {total['reserved']} + sold {total['sold']}, "
            "none negative, per product"), bad


@invariant(2, "sold matches confirmed orders", "inventory", "orders")
def sold_matches(facts: Facts) -> tuple[str, list[str]]:
    status = _statuses(facts)
    inventory = facts.services["inventory"]
    expected: Counter[str] = Counter()
    committed = set()
    for r in inventory["reservations"]:
        if r["status"] == "committed":
            committed.add(r["order_id"])
            if status.get(r["order_id"]) == "confirmed":
                expected.update({i["product_id"]: i["quantity"] for i in r["items"]})
    sold = {p["product_id"]: p["sold"] for p in inventory["products"]}
    bad = [f"product {pid}: sold {n}, confirmed orders {expected[pid]}"
           for pid, n in sold.items() if n != expected[pid]]
    bad += [f"product {pid}: no stock record, confirmed orders {n}"
            for pid, n in expected.items() if pid not in sold]
    confirmed = [oid for oid, s in status.items() if s == "confirmed"]
    bad += [f"order {oid}: confirmed without a committed reservation"
            for oid in confirmed if oid not in committed]
    return (f"sold {sum(sold.values())} units = {sum(expected.values())} in the committed "
            f"reservations of {len(confirmed)} confirmed orders"), bad


@invariant(3, "money conserved", "payments", "orders")
def money_conserved(facts: Facts) -> tuple[str, list[str]]:
    captured: Counter[str] = Counter()
    refunded: Counter[str] = Counter()
    confirmed: Counter[str] = Counter()
    net: dict[str, int] = defaultdict(int)  # per order: captured - refunded
    for p in facts.services["payments"]["payments"]:
        if p["status"] in CHARGED:
            captured[p["currency"]] += p["amount"]
            net[p["order_id"]] += p["amount"]
        if p["status"] == "refunded":
            refunded[p["currency"]] += p["amount"]
            net[p["order_id"]] -= p["amount"]
    due = {}
    for o in facts.services["orders"]["orders"]:
        if o["status"] == "confirmed":
            confirmed[o["currency"]] += o["total"]
            due[o["order_id"]] = o["total"]
    lines, bad = [], []
    for cur in sorted(set(captured) | set(confirmed)):
        c, r, t = captured[cur], refunded[cur], confirmed[cur]
        lines.append(f"{cur}: captured {c} - refunded {r} = {c - r}, confirmed orders {t}")
        if c - r != t:
            bad.append(lines[-1])
    status = _statuses(facts)
    for oid in sorted(set(net) | set(due)):
        if net.get(oid, 0) != due.get(oid, 0):
            bad.append(f"order {oid} ({status.get(oid, 'unknown to orders')}): captured - "
                       f"refunded {net.get(oid, 0)}, expected {due.get(oid, 0)}")
    return "; ".join(lines) or "no money captured, no confirmed order", bad


@invariant(4, "no order charged twice", "payments")
def charged_once(facts: Facts) -> tuple[str, list[str]]:
    charged = Counter(p["order_id"] for p in facts.services["payments"]["payments"]
                      if p["status"] in CHARGED)
    bad = [f"order {oid}: {n} captured payments" for oid, n in sorted(charged.items())
           if n > 1]
    return f"{len(charged)} orders charged, {len(bad)} of them more than once", bad


@invariant(5, "nothing stuck", "orders", "inventory", "payments", "shipping")
def nothing_stuck(facts: Facts) -> tuple[str, list[str]]:
    orders = facts.services["orders"]
    status = _statuses(facts)

    def finished(order_id: str) -> str | None:  # why it should hold nothing any more
        s = status.get(order_id)
        return None if s == "pending" else (s or "unknown to orders")

    pending = [f"order {oid}: pending" for oid, s in status.items() if s == "pending"]
    sagas = [f"saga of order {oid}: unfinished" for oid in orders["unfinished_saga_ids"]]
    held = [f"reservation {r['reservation_id']}: still reserved, order {r['order_id']} "
            f"{finished(r['order_id'])}" for r in facts.services["inventory"]["reservations"]
            if r["status"] == "reserved" and finished(r["order_id"])]
    authorized = [f"payment {p['payment_id']}: still authorized, order {p['order_id']} "
                  f"{finished(p['order_id'])}" for p in facts.services["payments"]["payments"]
                  if p["status"] == "authorized" and finished(p["order_id"])]
    shipped = [f"shipment {s['shipment_id']}: still scheduled, order {s['order_id']} cancelled"
               for s in facts.services["shipping"]["shipments"]
               if s["status"] == "scheduled" and status.get(s["order_id"]) == "cancelled"]
    return (f"{len(pending)} pending orders, {len(sagas)} unfinished sagas; of finished "
            f"orders: {len(held)} held reservations, {len(authorized)} authorized payments, "
            f"{len(shipped)} live shipments of cancelled ones"), \
        pending + sagas + held + authorized + shipped


@invariant(6, "every event consumed", *PUBLISHERS)
def events_consumed(facts: Facts) -> tuple[str, list[str]]:
    bad, unpublished = [], 0
    for service in PUBLISHERS:
        outbox = facts.services[service]["outbox"]
        unpublished += outbox["pending"]
        if outbox["pending"]:
            oldest = ", ".join(f"{r['id']} {r['subject']}" for r in outbox["first"])
            bad.append(f"{service} outbox: {outbox['pending']} unpublished (oldest: {oldest})")
    if facts.consumers is None:
        bad.append(f"consumers unknown: {facts.broker_error or 'not asked'}")
        return f"{unpublished} unpublished outbox rows; consumers unknown", bad
    waiting = unacked = 0
    for c in facts.consumers:
        waiting += c["num_pending"]
        unacked += c["num_ack_pending"]
        if c["num_pending"] or c["num_ack_pending"]:
            bad.append(f"consumer {c['consumer']} on {c['stream']}: {c['num_pending']} "
                       f"pending, {c['num_ack_pending']} unacknowledged")
    if facts.dead_letters:
        bad.append(f"{facts.dead_letters} dead letters (mercato dlq list)")
    return (f"{unpublished} unpublished outbox rows in {len(PUBLISHERS)} publishers; "
            f"{len(facts.consumers)} durable consumers: {waiting} pending, {unacked} "
            f"unacknowledged; {facts.dead_letters} dead letters"), bad


CHECKS = (stock_conserved, sold_matches, money_conserved, charged_once, nothing_stuck,
          events_consumed)


def check_all(facts: Facts) -> list[Check]:
    return [check(facts) for check in CHECKS]


# -- reading a running platform ----------------------------------------------------------
async def gather(client: ServiceClient, js) -> Facts:
    facts = Facts()
    for group in FETCH_ORDER:
        for service, (body, why) in zip(
                group, await asyncio.gather(*(_fetch(client, s) for s in group)), strict=True):
            if body is None:
                facts.missing[service] = why
            else:
                facts.services[service] = body
    try:
        facts.consumers, facts.dead_letters = await consumer_positions(js)
    except Exception as exc:  # broker gone or slow: the check says so
        facts.broker_error = f"{type(exc).__name__} {exc}".strip()
    return facts


async def _fetch(client: ServiceClient, service: str) -> tuple[dict | None, str]:
    try:
        reply = await client.call(service, "GET", "/internal/facts", timeout=10)
    except Unavailable as exc:
        return None, exc.reason
    if not reply.ok:
        try:
            detail = (reply.json() or {}).get("detail", "")
        except (ValueError, AttributeError):
            detail = reply.body[:200].decode(errors="replace")
        return None, f"answered {reply.status}: {detail}"
    return reply.json(), ""


async def consumer_positions(js) -> tuple[list[dict], int]:
    """Every durable consumer of the event streams with its backlog, and the number of
    dead letters."""
    consumers, dead = [], 0
    for stream in await js.streams_info():
        name = stream.config.name
        if name == DLQ_STREAM:
            dead = stream.state.messages
        elif name.startswith("MERCATO_"):
            consumers += [{"stream": name, "consumer": c.name,
                           "num_pending": c.num_pending or 0,
                           "num_ack_pending": c.num_ack_pending or 0}
                          for c in await js.consumers_info(name) if c.config.durable_name]
    return sorted(consumers, key=lambda c: (c["stream"], c["consumer"])), dead


async def check_until(read: Callable[[], Awaitable[Facts]], wait_idle: float, *,
                      clock: Callable[[], float] = time.monotonic, sleep=asyncio.sleep,
                      interval: float = 1.0) -> tuple[list[Check], float]:
    """Check, and re-check while something fails and ``wait_idle`` seconds have not
    passed; the last checks and the seconds waited."""
    started = clock()
    while True:
        waited = clock() - started  # before the checks that count
        checks = check_all(await read())
        left = wait_idle - (clock() - started)
        if all(c.ok for c in checks) or left <= 0:
            return checks, waited
        await sleep(min(interval, left))


async def verify_platform(settings: Settings, console: Console, *, wait_idle: float = 0.0,
                          as_json: bool = False) -> int:
    data_dir = Path(settings.data_dir)
    state = running_state(data_dir)
    tokens = ServiceTokens(service_secret(data_dir, settings), "verify")
    nc = await connect(state["nats_url"])
    view = RegistryView(nc, settings.registry_ttl)
    client = ServiceClient(view, tokens, timeout=10)
    try:
        await view.start()
        await client.start()
        js = nc.jetstream()
        checks, waited = await check_until(lambda: gather(client, js), wait_idle)
    finally:
        await client.close()
        await view.stop()
        with contextlib.suppress(Exception):
            await nc.close()
    if as_json:
        console.out(as_json_text(checks, waited), highlight=False)
    else:
        report(checks, waited, console)
    return 0 if all(c.ok for c in checks) else 1


def as_json_text(checks: list[Check], waited: float) -> str:
    return json.dumps({"ok": all(c.ok for c in checks), "waited": round(waited, 1),
                       "checks": [asdict(c) for c in checks]})


def report(checks: list[Check], waited: float, console: Console) -> None:
    for c in checks:
        mark = "[green]ok  [/]" if c.ok else "[red]FAIL[/]"
        console.print(f"{mark} {c.number}. {c.name}: {escape(c.figures)}", highlight=False,
                      soft_wrap=True)
        for v in c.violations:
            console.print(f"       [red]-[/] {escape(v)}", highlight=False, soft_wrap=True)
        if c.count > len(c.violations):
            console.print(f"       ... and {c.count - len(c.violations)} more",
                          highlight=False)
    failed = sum(not c.ok for c in checks)
    after = f" (after waiting {waited:.1f}s)" if waited >= 0.05 else ""
    if failed:
        console.print(f"[red]{failed} of {len(checks)} invariants violated[/]{after}")
    else:
        console.print(f"[green]All {len(checks)} invariants hold[/]{after}")

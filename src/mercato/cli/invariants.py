"""The invariants of ARCHITECTURE §3 that ``mercato verify`` checks, as pure functions
over ``Facts`` (what the services and the broker report about themselves).

They live apart from ``verify`` so that what must hold is read, and tested, without the
HTTP and JetStream code that gathers the facts: each check takes ``Facts`` and returns a
``Check`` with its figures and the first few violations, and does no I/O.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

PUBLISHERS = ("catalog", "identity", "inventory", "loyalty", "orders", "payments", "shipping")
SHOWN = 5  # violations named per invariant; the count covers them all
CHARGED = ("captured", "refunded")  # a refunded payment was captured first
# Confirmed, and then shipped and delivered: paid for, its stock sold.
FULFILLED = ("confirmed", "shipped", "delivered")
# Sold for good: fulfilled, or delivered and then refunded (the money given back, the goods
# kept by the customer: no return of stock).
SOLD = (*FULFILLED, "refunded")
LIVE_SHIPMENT = ("scheduled", "labelled", "in_transit")  # the courier may still move it



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
            if status.get(r["order_id"]) in SOLD:
                expected.update({i["product_id"]: i["quantity"] for i in r["items"]})
    sold = {p["product_id"]: p["sold"] for p in inventory["products"]}
    bad = [f"product {pid}: sold {n}, confirmed orders {expected[pid]}"
           for pid, n in sold.items() if n != expected[pid]]
    bad += [f"product {pid}: no stock record, confirmed orders {n}"
            for pid, n in expected.items() if pid not in sold]
    confirmed = [oid for oid, s in status.items() if s in SOLD]
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
        if o["status"] in FULFILLED:
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
    shipped = [f"shipment {s['shipment_id']}: still {s['status']}, order {s['order_id']} "
               "cancelled" for s in facts.services["shipping"]["shipments"]
               if s["status"] in LIVE_SHIPMENT and status.get(s["order_id"]) == "cancelled"]
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


# What orders' history must read for each status the courier's news gives an order.
SHIPPED_PATH = {"shipped": ["pending", "confirmed", "shipped"],
                "delivered": ["pending", "confirmed", "shipped", "delivered"],
                "refunded": ["pending", "confirmed", "shipped", "delivered", "refunded"]}
# The shipment's status that agrees with each order status, once everything is heard.
SHIPMENT_OF = {"shipped": ("in_transit",), "delivered": ("delivered",),
               "refunded": ("delivered",)}
# What a pending or confirmed order's parcel cannot be yet: a pending order has none
# released; a confirmed one may be labelled, but in transit orders hears it is shipped.
NOT_YET_MOVED = {"pending": ("labelled", "in_transit", "delivered"),
                 "confirmed": ("in_transit", "delivered")}


@invariant(7, "delivered orders were confirmed and shipped", "orders", "shipping")
def delivered_were_shipped(facts: Facts) -> tuple[str, list[str]]:
    shipment = {s["order_id"]: s["status"] for s in facts.services["shipping"]["shipments"]}
    bad, counts = [], Counter()
    for o in facts.services["orders"]["orders"]:
        oid, status, history = o["order_id"], o["status"], o.get("history") or []
        moved = shipment.get(oid)
        counts[status] += 1
        if status in SHIPPED_PATH:
            if history != SHIPPED_PATH[status]:
                bad.append(f"order {oid}: {status} after {' -> '.join(history)}")
            if moved not in SHIPMENT_OF[status]:
                bad.append(f"order {oid}: {status}, its shipment {moved or 'unknown'}")
        elif status == "cancelled":
            if {"shipped", "delivered"} & set(history) or moved in ("in_transit", "delivered"):
                bad.append(f"order {oid}: cancelled, yet shipped (history "
                           f"{' -> '.join(history)}, shipment {moved})")
        elif moved in NOT_YET_MOVED.get(status, ()):
            bad.append(f"order {oid}: {status}, its shipment already {moved}")
    return (f"{counts['delivered']} delivered and {counts['shipped']} shipped orders, each "
            f"confirmed then shipped; {counts['cancelled']} cancelled orders, none shipped"), bad


@invariant(8, "points credited once", "orders", "loyalty")
def points_credited_once(facts: Facts) -> tuple[str, list[str]]:
    """Every delivered order has exactly one credit and no reversal; every refunded one a
    credit and a reversal (or a reversal alone, of nothing: the refund heard first); no
    other order has any entry."""
    status = _statuses(facts)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for e in facts.services["loyalty"]["entries"]:
        kinds[e["order_id"]][e["kind"]] += 1
    bad = []
    for oid, s in sorted(status.items()):
        got = kinds.get(oid, Counter())
        if s == "delivered" and (got["credit"] != 1 or got["reversal"]):
            bad.append(f"order {oid}: delivered, {got['credit']} credits and "
                       f"{got['reversal']} reversals (one credit expected)")
        elif s == "refunded" and (got["credit"] > 1 or got["reversal"] != 1):
            bad.append(f"order {oid}: refunded, {got['credit']} credits and "
                       f"{got['reversal']} reversals (one of each expected)")
        elif s not in ("delivered", "refunded") and got:
            bad.append(f"order {oid}: {s}, yet {sum(got.values())} ledger entries")
    bad += [f"order {oid}: ledger entries, unknown to orders" for oid in sorted(kinds)
            if oid not in status]
    delivered = sum(1 for s in status.values() if s == "delivered")
    refunded = sum(1 for s in status.values() if s == "refunded")
    return (f"{delivered} delivered orders credited once, {refunded} refunded ones "
            "reversed"), bad


CHECKS = (stock_conserved, sold_matches, money_conserved, charged_once, nothing_stuck,
          events_consumed, delivered_were_shipped, points_credited_once)


def check_all(facts: Facts) -> list[Check]:
    return [check(facts) for check in CHECKS]

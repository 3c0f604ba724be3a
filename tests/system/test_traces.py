"""One trace per order, read back through the gateway (GET /api/v1/ops/traces): the
request, the saga's calls, the outbox, the relay and every consumer, in every service.
test_choreography.py runs the first test again on a choreographed platform."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from tests.system.platform import Platform, wait_for

FORWARD = ["reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
           "confirm_order"]
EVERY_SERVICE = {"gateway", "orders", "catalog", "inventory", "payments", "shipping",
                 "notifications", "cart"}


def place(p: Platform, card: str) -> tuple[str, str, dict]:
    """A new customer's order of a new product: (token, order id, its terminal state)."""
    token, _user = p.new_customer()
    product = p.new_product(stock=3)
    with p.client(token) as c:
        r = c.post("/api/v1/orders", json=p.order_body(product["id"], card=card),
                   headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 202, r.text
    order_id = r.json()["id"]
    return token, order_id, p.wait_terminal(token, order_id)


def order_trace(p: Platform, order_id: str, complete) -> tuple[list[dict], list[dict]]:
    """(the traces listed for ``order_id``, the spans of the newest) once ``complete(spans)``
    holds: spans reach the store from every process within a second or so of ending."""
    found: dict = {}

    def ready():
        with p.client(p.admin_token()) as c:
            listed = c.get("/api/v1/ops/traces", params={"order_id": order_id})
            assert listed.status_code == 200, listed.text
            items = listed.json()["items"]
            if not items:
                return False
            one = c.get(f"/api/v1/ops/traces/{items[0]['trace_id']}")
            assert one.status_code == 200, one.text
        found.update(items=items, spans=one.json()["spans"])
        return complete(found["spans"])

    wait_for(ready, 30, f"the whole trace of order {order_id}", every=0.5)
    return found["items"], found["spans"]


def services(spans: list[dict]) -> set[str]:
    return {s["service"] for s in spans}


def saga_steps(spans: list[dict]) -> list[str]:
    """The forward steps of the saga, in the order they started (a step tried twice
    counts once)."""
    steps = []
    for s in sorted(spans, key=lambda s: s["start_unix_nano"]):
        step = s["attributes"].get("mercato.saga.step")
        if step in FORWARD and step not in steps:
            steps.append(step)
    return steps


def test_a_confirmed_orders_trace_crosses_every_service_through_http_and_events(
        platform: Platform):
    _token, order_id, order = place(platform, "tok_ok")
    assert order["status"] == "confirmed"

    def complete(spans):
        return services(spans) >= EVERY_SERVICE and len(saga_steps(spans)) == len(FORWARD)

    items, spans = order_trace(platform, order_id, complete)
    assert len(items) == 1, items  # one trace per order
    assert order_id in items[0]["order_ids"] and not items[0]["error"], [
        (x["service"], x["name"], x["status"], x["attributes"], x["events"])
        for x in spans if x["status"]["code"] == "error"]
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if s["parent_span_id"] not in ids]
    assert [(r["service"], r["kind"]) for r in roots] == [("gateway", "server")], roots
    assert saga_steps(spans) == FORWARD
    by_id = {s["span_id"]: s for s in spans}
    producers = [s for s in spans if s["kind"] == "producer"]
    consumers = [s for s in spans if s["kind"] == "consumer"]
    assert {s["name"] for s in producers} >= {"publish mercato.orders.OrderPlaced",
                                             "publish mercato.orders.OrderConfirmed"}
    assert services(consumers) >= {"notifications", "cart"}
    for consumer in consumers:  # each one continues, and links to, the relay's publish
        producer = by_id[consumer["parent_span_id"]]
        assert producer["kind"] == "producer"
        assert [link["span_id"] for link in consumer["links"]] == [producer["span_id"]]
        assert consumer["attributes"]["messaging.system"] == "nats"
    for producer in producers:  # ... which continues the span that wrote its outbox row
        writer = by_id[producer["parent_span_id"]]  # a transaction's, or a consumer's
        assert producer["attributes"]["messaging.message.id"] in [
            e["attributes"]["messaging.message.id"] for e in writer["events"]
            if e["name"] == "outbox.add"]


def test_a_declined_cards_trace_shows_the_compensations_and_the_failed_step(
        platform: Platform):
    _token, order_id, order = place(platform, "tok_decline")
    assert order["status"] == "cancelled"

    def complete(spans):
        return any(s["name"].startswith("saga.compensation") for s in spans) and \
            "authorize_payment" in saga_steps(spans)

    items, spans = order_trace(platform, order_id, complete)
    assert items[0]["error"] is True
    failed = [s for s in spans if s["attributes"].get("mercato.saga.step") == "authorize_payment"
              and s["name"].startswith("saga.step")]
    assert failed and failed[-1]["status"]["code"] == "error"
    compensations = {s["attributes"].get("mercato.saga.step") for s in spans
                     if s["name"].startswith("saga.compensation")}
    assert "release_stock" in compensations
    assert saga_steps(spans) == FORWARD[:2]  # nothing after the declined authorization


def test_the_logs_of_a_checkout_are_joined_by_its_trace_id(platform: Platform):
    token, _user = platform.new_customer()
    product = platform.new_product(stock=3)
    with platform.client(token) as c:
        r = c.post("/api/v1/orders", json=platform.order_body(product["id"]),
                   headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 202, r.text
    trace_id = r.headers["traceparent"].split("-")[1]
    assert platform.wait_terminal(token, r.json()["id"])["status"] == "confirmed"

    def processes():
        done = subprocess.run([sys.executable, "-m", "mercato", "logs", "--trace", trace_id],
                              env=platform.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:  # none yet ("no log line ... carries trace_id")
            assert "carries trace_id" in done.stderr, done.stderr
            return None
        lines = [json.loads(line.split(None, 1)[1]) for line in done.stdout.splitlines()
                 if line.strip()]
        assert all(line["trace_id"] == trace_id for line in lines)
        found = {line["process"] for line in lines}
        return found if len(found) >= 5 else None

    found = wait_for(processes, 20, "log lines of five processes with the trace id", every=1)
    assert {"gateway-1", "orders-1", "inventory-1", "payments-1", "shipping-1"} <= found

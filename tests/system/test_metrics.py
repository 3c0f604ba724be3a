"""Metrics as Prometheus reads them: the gateway lists every live instance for HTTP service
discovery, every listed instance's /metrics parses, and placing orders moves the checkout
counter, the saga step histogram and the captured money by exactly what was placed."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.system.platform import Platform

SERVICES = {"gateway", "identity", "catalog", "inventory", "cart", "orders", "payments",
            "shipping", "notifications", "loyalty", "mobile-bff"}
STEPS = ("reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
         "confirm_order")


def targets(p: Platform) -> list[dict]:
    with p.client(p.admin_token()) as c:
        r = c.get("/api/v1/ops/prometheus-targets")
    assert r.status_code == 200, r.text
    return r.json()


def scrape_all(p: Platform) -> dict[str, list]:
    """Every listed instance's /metrics, parsed: {instance id: [samples]}."""
    found = {}
    for group in targets(p):
        [address] = group["targets"]
        r = httpx.get(f"http://{address}/metrics", timeout=10)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        families = list(text_string_to_metric_families(r.text))
        found[group["labels"]["instance"]] = [s for f in families for s in f.samples]
    return found


def total(scraped: dict[str, list], name: str, **labels) -> float:
    """The sum over every instance of the samples called ``name`` with ``labels``."""
    return sum(s.value for samples in scraped.values() for s in samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_the_gateway_lists_every_live_instance_for_prometheus(platform: Platform):
    groups = targets(platform)
    assert {g["labels"]["service"] for g in groups} == SERVICES
    for group in groups:
        assert set(group["labels"]) == {"service", "instance", "version"}
        [address] = group["targets"]
        host, port = address.rsplit(":", 1)
        assert host and port.isdigit()
    assert f"127.0.0.1:{platform.port}" in [g["targets"][0] for g in groups]
    token, _ = platform.new_customer()
    with platform.client(token) as c:
        assert c.get("/api/v1/ops/prometheus-targets").status_code == 403


def test_placed_orders_move_the_checkout_metrics_by_exactly_the_orders_placed(
        platform: Platform):
    placed, price = 3, 1250
    token, _ = platform.new_customer()
    product = platform.new_product(stock=10, price=price)
    before = scrape_all(platform)
    ids = []
    with platform.client(token) as c:
        for n in range(placed):
            r = c.post("/api/v1/orders", json=platform.order_body(product["id"]),
                       headers={"Idempotency-Key": f"metrics-{product['id']}-{n}"})
            assert r.status_code in (201, 202), r.text
            ids.append(r.json()["id"])
    for order_id in ids:
        assert platform.wait_terminal(token, order_id)["status"] == "confirmed"
    after = scrape_all(platform)

    def moved(name: str, **labels) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("mercato_checkouts_total", outcome="confirmed") == placed
    assert moved("mercato_checkouts_total", outcome="cancelled") == 0
    assert moved("mercato_checkout_duration_seconds_count", outcome="confirmed") == placed
    for step in STEPS:
        assert moved("mercato_saga_step_duration_seconds_count", step=step,
                     outcome="ok") == placed, step
    assert moved("mercato_payments_captured_amount_total", currency="USD") == placed * price
    def names(service: str) -> set[str]:
        return {s.name for i, samples in after.items() if i.startswith(f"{service}-")
                for s in samples}

    assert {"mercato_outbox_pending", "mercato_outbox_oldest_age_seconds"} <= names("orders")
    assert {"mercato_consumer_pending", "mercato_consumer_redelivered_messages",
            "mercato_consumer_deliveries_total", "mercato_dead_letters"} <= names(
        "notifications")
    assert total(after, "mercato_inventory_reservations_held") >= 0
    gateway = next(v for k, v in after.items() if k.startswith("gateway-"))
    assert [s.value for s in gateway if s.name == "mercato_breaker_state"
            and s.labels == {"mercato_upstream_service": "orders",
                             "mercato_call_scope": "proxy"}] == [0]

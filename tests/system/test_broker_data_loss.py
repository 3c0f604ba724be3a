"""F4 in short (docs/chaos.md): the broker loses its store under a running platform — NATS
killed with its JetStream dir deleted, as the matrix's fault does it — and the platform
re-drives from the outboxes what its consumers had not acknowledged. An order every
consumer had before the loss is not re-published; an order placed after it is
confirmed; every stream and bucket is back (the DLQ, the audit stream, the registry and
routing buckets too); `mercato verify` finds every invariant holding. And `mercato outbox
redrive` asks for a re-drive on demand (of every row since a moment)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import sqlite3
import subprocess
import sys

import pytest

from mercato.chaos.faults import Target
from mercato.chaos.faults.base import log_events
from mercato.chaos.faults.broker import BrokerDataLoss
from mercato.chassis.calls.client import ServiceClient
from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.settings import load_settings
from mercato.cli.verify import see_services
from mercato.platform.running import cli_identity, cli_ssl, connect, login, running_state
from tests.system.platform import Platform, running_platform, wait_for
from tests.system.test_verify import verify


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    # a short duplicate window, as the chaos platform's: a re-publish then reaches the
    # consumers, and the inboxes are what keeps it from a second effect
    yield from running_platform(tmp_path_factory, "broker-data-loss",
                                MERCATO_NATS_DUPLICATE_WINDOW="1")


def outbox_ids(p: Platform, service: str) -> set[str]:
    with sqlite3.connect(f"file:{p.data_dir / service / f'{service}.db'}?mode=ro",
                         uri=True) as db:
        return {r[0] for r in db.execute("SELECT id FROM outbox")}


async def stream_names(p: Platform) -> set[str]:
    """The streams (KV buckets included) NATS holds, as the operator's ``cli`` user."""
    nc = await connect(running_state(p.data_dir)["nats_url"], login(p.data_dir))
    try:
        return {s.config.name for s in await nc.jetstream().streams_info()}
    finally:
        await nc.close()


def unpublished(p: Platform, service: str) -> int:
    with sqlite3.connect(f"file:{p.data_dir / service / f'{service}.db'}?mode=ro",
                         uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]


def place(p: Platform, token: str, product_id: str) -> str:
    with p.client(token) as c:
        r = c.post("/api/v1/orders", json=p.order_body(product_id))
    assert r.status_code == 202, r.text
    return r.json()["id"]


def facts(p: Platform, service: str) -> dict:
    """The service's ``GET /internal/facts``, as ``mercato verify`` reads it."""
    async def read() -> dict:
        settings = load_settings(data_dir=p.data_dir, service_key_file=None,
                                 service_jwks_file=None, nats_nkey_file=None)
        nc = await connect(running_state(p.data_dir)["nats_url"], login(p.data_dir))
        view = RegistryView(nc, settings.registry_ttl)
        client = ServiceClient(view, cli_identity(settings), timeout=10,
                               ssl=cli_ssl(p.data_dir))
        try:
            await view.start()
            await see_services(view)
            await client.start()
            reply = await client.call(service, "GET", "/internal/facts", timeout=10)
            assert reply.ok, reply.status
            return reply.json()
        finally:
            await client.close()
            await view.stop()
            await nc.close()
    return asyncio.run(read())


def outbox_rows(p: Platform, service: str) -> dict[str, int]:
    with sqlite3.connect(f"file:{p.data_dir / service / f'{service}.db'}?mode=ro",
                         uri=True) as db:
        return {r[0]: r[1] for r in db.execute("SELECT id, seq FROM outbox")}


def test_a_lost_broker_store_is_redriven_from_where_the_consumers_were(platform):
    """An order every consumer had acknowledged before the loss: once orders' relay knows
    it, the loss costs no re-publish of its events; one placed after the loss is
    confirmed. (Re-driving what a consumer still lacked: tests/integration.)"""
    product = platform.new_product(stock=5)
    token, _ = platform.new_customer()
    first = place(platform, token, product["id"])
    assert platform.wait_terminal(token, first)["status"] == "confirmed"
    rows = outbox_rows(platform, "orders")
    wait_for(lambda: (facts(platform, "orders")["outbox_consumed"] or 0) >= max(rows.values()),
             30, "orders' relay to learn that every consumer has its events")

    target = Target(platform.data_dir, random.Random(4), 3.0)
    fault = BrokerDataLoss()

    async def lose() -> tuple[str, str]:
        injected = await fault.inject(target)
        return injected, await fault.heal(target)
    injected, healed = asyncio.run(lose())
    assert "deleted" in injected
    redriven = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", healed.split("re-driven")[1])} \
        if "re-driven" in healed else {}
    assert redriven.get("orders", 0) < len(rows), healed  # not the whole retention

    assert {"MERCATO_DLQ", "AUDIT", "KV_mercato_registry", "KV_mercato_routing",
            "MERCATO_ORDERS"} <= asyncio.run(stream_names(platform))  # set up again
    after = place(platform, token, product["id"])
    assert platform.wait_terminal(token, after, 60)["status"] == "confirmed"
    dropped = {e["event_id"] for e in log_events(platform.data_dir,
                                                 needle="event_duplicate_dropped")}
    assert not dropped & set(rows), "events every consumer had were re-published"

    done = verify(platform, "--wait-idle", "60", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(c["ok"] for c in json.loads(done.stdout)["checks"])


def test_an_operator_redrive_republishes_and_the_inboxes_drop_it(platform):
    product = platform.new_product(stock=5)
    token, _ = platform.new_customer()
    assert platform.wait_terminal(token, place(platform, token, product["id"]))["status"] == \
        "confirmed"
    # the confirmation's own event may still be on its way out: the re-drive takes the
    # rows published, so wait until every row is
    wait_for(lambda: not unpublished(platform, "orders"), 30, "orders' rows published")
    published = outbox_ids(platform, "orders")
    dropped_before = len(list(log_events(platform.data_dir, needle="event_duplicate_dropped")))
    done = subprocess.run([sys.executable, "-m", "mercato", "outbox", "redrive", "--service",
                           "orders", "--since", "2000-01-01T00:00:00Z"], env=platform.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = int(re.search(r"orders: (\d+) rows to re-publish to MERCATO_ORDERS",
                         done.stdout).group(1))
    assert rows == len(published)

    def dropped() -> int:
        return len(list(log_events(platform.data_dir, needle="event_duplicate_dropped")))
    wait_for(lambda: dropped() > dropped_before, 30, "the re-published events dropped")
    wait_for(lambda: not unpublished(platform, "orders"), 30, "the rows published again")
    checked = verify(platform, "--wait-idle", "60", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr

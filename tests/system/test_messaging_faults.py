"""Reliable messaging under faults, on a whole platform: processes killed at the worst
moments and the broker frozen for 30 s. Nothing is lost and nothing happens twice. On
both stacks (tests/system/stacks.py); on the production one "the broker" is the
three-node NATS cluster, and freezing it freezes every node."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nats
import pytest

from mercato.platform.running import login
from tests.system.platform import Platform, make_platform, wait_for
from tests.system.stacks import STACKS, stack_env
from tests.system.test_supervisor import processes_using


@pytest.fixture(scope="module", params=STACKS)
def faulty(request, tmp_path_factory) -> Platform:
    tmp = tmp_path_factory.mktemp(f"faults-{request.param}")
    (tmp / "faults").mkdir()
    with stack_env(request.param) as env:
        # one customer orders the same product many times across the faults
        p = make_platform(tmp, MERCATO_FAULT_DIR=str(tmp / "faults"),
                          MERCATO_MAX_UNITS_PER_CUSTOMER_PER_PRODUCT_PER_DAY="0", **env)
        p.start()
        yield p
        code = p.stop()
        assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


def arm(p: Platform, service: str, point: str) -> Path:
    marker = Path(p.env["MERCATO_FAULT_DIR"]) / f"{service}.{point}"
    marker.touch()
    return marker


def notifications(p: Platform, token: str) -> list[dict]:
    with p.client(token) as c:
        for _ in range(60):
            r = c.get("/api/v1/notifications", params={"limit": 200})
            if r.status_code != 503:  # 503 + Retry-After while notifications restarts
                break
            time.sleep(float(r.headers.get("retry-after", "1")))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def kinds_for(items: list[dict], order_id: str) -> list[str]:
    return sorted(n["kind"] for n in items if n["order_id"] == order_id)


def stream_events(p: Platform, stream: str, event_type: str) -> list[dict]:
    """Every payload of one event type in a stream, read straight from JetStream."""
    nats_url = json.loads((p.data_dir / "run" / "state.json").read_text())["nats_url"]

    async def read() -> list[dict]:
        servers = nats_url.split(",")  # a cluster's URL is a comma list
        nc = await nats.connect(servers=servers, **login(p.data_dir))  # as the `cli` user
        js = nc.jetstream()
        info = await js.stream_info(stream)
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            envelope = json.loads(msg.data)
            if envelope["type"] == event_type:
                found.append(envelope["payload"])
        await nc.close()
        return found

    return asyncio.run(read())


def place(p: Platform, token: str, product_id: str, card: str = "tok_ok") -> str:
    with p.client(token) as c:
        for _ in range(100):  # a 503 (with Retry-After) while something restarts: retry
            r = c.post("/api/v1/orders", json=p.order_body(product_id, 1, card))
            if r.status_code != 503:
                break
            time.sleep(float(r.headers.get("retry-after", "1")))
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_a_publisher_killed_between_commit_and_publish_delivers_after_restart(faulty):
    product = faulty.new_product(stock=5)
    token, _ = faulty.new_customer()
    marker = arm(faulty, "orders", "relay.before_publish")
    order_id = place(faulty, token, product["id"])
    wait_for(lambda: not marker.exists(), 30, "the orders relay to reach its crash point",
             every=0.2)
    order = faulty.wait_terminal(token, order_id, timeout=60)
    assert order["status"] == "confirmed"
    wait_for(lambda: kinds_for(notifications(faulty, token), order_id), 60,
             "the confirmation notification", every=0.2)
    time.sleep(2)  # a duplicate, if any, would show by now
    assert "order_confirmed" in kinds_for(notifications(faulty, token), order_id)
    assert kinds_for(notifications(faulty, token), order_id).count("order_confirmed") == 1
    placed = [e for e in stream_events(faulty, "MERCATO_ORDERS", "OrderPlaced")
              if e["order_id"] == order_id]
    assert len(placed) == 1
    assert "orders-1 exited" in faulty.output.read_text()


def test_a_consumer_killed_between_commit_and_ack_does_not_act_twice(faulty):
    product = faulty.new_product(stock=5)
    token, _ = faulty.new_customer()
    marker = arm(faulty, "notifications", "consumer.before_ack")
    order_id = place(faulty, token, product["id"])
    wait_for(lambda: not marker.exists(), 60, "notifications to reach its crash point", every=0.2)
    faulty.wait_terminal(token, order_id, timeout=60)
    wait_for(lambda: "order_confirmed" in kinds_for(notifications(faulty, token), order_id),
             60, "the confirmation notification after the restart", every=0.2)
    time.sleep(3)  # the redelivery after the restart has had time to arrive
    kinds = kinds_for(notifications(faulty, token), order_id)
    assert kinds.count("order_confirmed") == 1
    assert "notifications-1 exited" in faulty.output.read_text()


def test_a_broker_frozen_for_30_seconds_loses_and_doubles_nothing(faulty):
    product = faulty.new_product(stock=100)
    token, _ = faulty.new_customer()
    nats_pids = [pid for pid in processes_using(faulty.data_dir)
                 if b"nats-server" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    # the broker is every node: one server, or the three of a cluster, all frozen at once
    nodes = int(faulty.env.get("MERCATO_NATS_CLUSTER", "1"))
    assert len(nats_pids) == nodes
    placed: list[str] = []
    for pid in nats_pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(4) as pool:
            while time.monotonic() < deadline:
                placed += pool.map(lambda _: place(faulty, token, product["id"]), range(4))
                time.sleep(2)
    finally:
        for pid in nats_pids:
            os.kill(pid, signal.SIGCONT)
    assert len(placed) >= 20
    for order_id in placed:
        assert faulty.wait_terminal(token, order_id, timeout=120)["status"] == "confirmed"

    def all_notified():
        items = notifications(faulty, token)
        return all("order_confirmed" in kinds_for(items, o) for o in placed)

    wait_for(all_notified, 120, "a confirmation notification for every order", every=0.2)
    time.sleep(3)
    items = notifications(faulty, token)
    for order_id in placed:
        assert kinds_for(items, order_id).count("order_confirmed") == 1
    confirmed = [e["order_id"] for e in stream_events(faulty, "MERCATO_ORDERS",
                                                      "OrderConfirmed")]
    assert sorted(o for o in confirmed if o in placed) == sorted(placed)

"""The console's operations routes at the gateway: the audit trail of admin state changes,
one dead letter with its payload, its replay and whether it was consumed. Through the
gateway's real routing and access checks, on an in-memory JetStream."""

from __future__ import annotations

import json

import pytest

from mercato.chassis.messaging.dlq import dead_letter
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.security import Principal
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from mercato.gateway.audit import AUDIT_STREAM, AuditTrail, audited, what
from mercato.gateway.policy import resolve
from tests.support.service_http import WORKLOAD_KEYS, client
from tests.unit.gateway.jetstream_fakes import InMemoryJetStream
from tests.unit.gateway.test_ops_dead_letters import FakeAuth

ADMIN = {"Authorization": "Bearer admin"}
CUSTOMER = {"Authorization": "Bearer customer"}
ENVELOPE = {"id": "e-1", "type": "UserRegistered", "source": "identity",
            "payload": {"user_id": "u-1", "email": "a@example.com", "name": "Ada"}}


@pytest.fixture
def js():
    fake = InMemoryJetStream()
    fake.add("MERCATO_DLQ", "mercato.dlq.")
    fake.add("MERCATO_IDENTITY", "mercato.identity.")
    return fake


@pytest.fixture
def gateway(tmp_path, js):
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime("gateway", settings, make_instance("gateway", 1, "http://gw", "1"))
    runtime.identity = WORKLOAD_KEYS.identity("gateway")
    runtime.js = js
    gw = Gateway(runtime)
    gw.auth = FakeAuth()
    return gw


async def give_up(js) -> None:
    await dead_letter(js, consumer="notifications__recipients",
                      subject="mercato.identity.UserRegistered",
                      data=json.dumps(ENVELOPE).encode(), event_id="e-1",
                      event_type="UserRegistered", error="RuntimeError: relay down",
                      attempts=5, stream="MERCATO_IDENTITY", stream_seq=3)


def test_only_admin_state_changes_are_audited():
    assert audited("POST", resolve("POST", "/api/v1/inventory/stock/p1/adjustments"))
    assert audited("PATCH", resolve("PATCH", "/api/v1/catalog/products/p1"))
    assert audited("POST", resolve("POST", "/api/v1/ops/dead-letters/4/replay"))
    assert not audited("GET", resolve("GET", "/api/v1/ops/dead-letters"))
    assert not audited("POST", resolve("POST", "/api/v1/orders"))  # a customer's order
    assert not audited("PUT", resolve("PUT", "/api/v1/cart/items/p1"))


def test_the_trail_shows_a_body_as_compact_json_cut_short():
    assert what(b'{"reason": "count", "delta": 5}') == '{"delta":5,"reason":"count"}'
    assert what(b"") == ""
    assert what(b"not json") == "<8 bytes, not JSON>"
    assert what(json.dumps({"x": "y" * 900}).encode()).endswith("…")


async def test_an_admin_sees_one_dead_letter_with_its_payload(gateway, js):
    await give_up(js)
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/dead-letters/1", headers=ADMIN)
        missing = await c.get("/api/v1/ops/dead-letters/9", headers=ADMIN)
        customer = await c.get("/api/v1/ops/dead-letters/1", headers=CUSTOMER)
    assert r.status_code == 200
    assert r.json()["payload"] == ENVELOPE
    assert r.json()["consumer"] == "notifications__recipients"
    assert missing.status_code == 404
    assert customer.status_code == 403


async def test_a_replay_names_its_copy_and_is_consumed_once_acknowledged(gateway, js):
    await give_up(js)
    async with client(gateway) as c:
        r = await c.post("/api/v1/ops/dead-letters/1/replay", headers=ADMIN)
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["stream"] == "MERCATO_IDENTITY" and done["stream_seq"] == 1
        assert done["consumer"] == "notifications__recipients"
        copy = js.streams["MERCATO_IDENTITY"]["messages"][1]
        assert copy.subject == "mercato.identity.replay.notifications__recipients"
        assert not js.streams["MERCATO_DLQ"]["messages"]  # no longer a dead letter
        position = "/api/v1/ops/consumers/MERCATO_IDENTITY/notifications__recipients?seq=1"
        js.positions[("MERCATO_IDENTITY", "notifications__recipients")] = 0
        waiting = (await c.get(position, headers=ADMIN)).json()
        js.positions[("MERCATO_IDENTITY", "notifications__recipients")] = 1
        consumed = (await c.get(position, headers=ADMIN)).json()
        again = await c.post("/api/v1/ops/dead-letters/1/replay", headers=ADMIN)
    assert not waiting["consumed"] and consumed["consumed"]
    assert again.status_code == 404


async def test_every_admin_state_change_is_audited_newest_first(gateway, js):
    await give_up(js)
    await give_up(js)
    async with client(gateway) as c:
        await c.post("/api/v1/ops/dead-letters/1/replay", headers=ADMIN)
        await c.post("/api/v1/ops/dead-letters/2/replay", headers=ADMIN)
        await c.post("/api/v1/ops/dead-letters/9/replay", headers=ADMIN)  # 404, audited too
        await c.post("/api/v1/ops/dead-letters/2/replay", headers=CUSTOMER)  # 403: refused
        await c.get("/api/v1/ops/dead-letters", headers=ADMIN)  # a read: not audited
        r = await c.get("/api/v1/ops/audit", headers=ADMIN)
        page = await c.get("/api/v1/ops/audit?limit=1&before=2", headers=ADMIN)
        bad = await c.get("/api/v1/ops/audit?limit=0", headers=ADMIN)
    items = r.json()["items"]
    assert [(i["path"], i["status"]) for i in items] == [
        ("/api/v1/ops/dead-letters/9/replay", 404),
        ("/api/v1/ops/dead-letters/2/replay", 200),
        ("/api/v1/ops/dead-letters/1/replay", 200)]
    assert {i["actor"] for i in items} == {"admin-1"}
    assert {i["address"] for i in items} == {"127.0.0.1"}  # who called, as uvicorn saw it
    assert all(i["method"] == "POST" and i["at"].endswith("Z") for i in items)
    assert [i["seq"] for i in page.json()["items"]] == [1]
    assert bad.status_code == 400


async def test_a_broker_that_refuses_the_entry_never_fails_the_request(js, capsys):
    trail, who = AuditTrail(lambda: js), Principal("a-1", frozenset({"admin"}))
    js.down = True
    await trail.record(who, "POST", "/api/v1/ops/x", 200, "r-1")  # logged, not raised
    assert "audit_not_recorded" in capsys.readouterr().out
    js.down = False
    await trail.record(who, "POST", "/api/v1/ops/y", 200, "r-2")
    assert [e["path"] for e in await trail.newest()] == ["/api/v1/ops/y"]
    assert len(js.streams[AUDIT_STREAM]["messages"]) == 1

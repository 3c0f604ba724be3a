"""GET /api/v1/ops/dead-letters: the dead-letter stream as the gateway shows it to admins.

Dead letters are written by the chassis' own ``dead_letter()`` into an in-memory stand-in
for the JetStream context (publish, stream_info, get_msg), and read back through the
gateway's real routing, access checks and ``list_dead_letters``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from nats.js.errors import BadRequestError, NotFoundError

from mercato.chassis.messaging.dlq import dead_letter
from mercato.chassis.messaging.streams import DLQ_STREAM
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.security import AuthError, Principal
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from tests.support.service_http import WORKLOAD_KEYS, client


class InMemoryJetStream:
    """Just enough of a JetStreamContext for the dead-letter stream, answering as the
    real server does (an empty stream reports first and last sequence 0; message 0 is a
    bad request)."""

    def __init__(self) -> None:
        self.messages: dict[int, SimpleNamespace] = {}
        self.next_seq = 1
        self.down = False
        self.exists = True

    async def publish(self, subject, data, headers=None, stream=None, timeout=None):
        assert stream == DLQ_STREAM
        self.messages[self.next_seq] = SimpleNamespace(subject=subject, data=data,
                                                       headers=dict(headers or {}))
        self.next_seq += 1

    async def stream_info(self, name):
        if self.down:
            raise TimeoutError("nats: timeout")
        if name != DLQ_STREAM or not self.exists:
            raise NotFoundError
        last = self.next_seq - 1
        first = min(self.messages) if self.messages else (last + 1 if last else 0)
        return SimpleNamespace(state=SimpleNamespace(
            first_seq=first, last_seq=last, messages=len(self.messages)))

    async def get_msg(self, name, seq):
        if seq < 1:
            raise BadRequestError(code=400, err_code=10003, description="bad request")
        if seq not in self.messages:
            raise NotFoundError
        return self.messages[seq]


class FakeAuth:
    async def principal(self, authorization):
        token = (authorization or "").removeprefix("Bearer ")
        roles = {"admin": {"customer", "admin"}, "customer": {"customer"}}.get(token)
        if roles is None:
            raise AuthError("invalid token")
        return Principal(f"{token}-1", frozenset(roles))


ADMIN = {"Authorization": "Bearer admin"}


@pytest.fixture
def js():
    return InMemoryJetStream()


@pytest.fixture
def gateway(tmp_path, js):
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime("gateway", settings, make_instance("gateway", 1, "http://gw", "1"))
    runtime.identity = WORKLOAD_KEYS.identity("gateway")
    runtime.js = js
    gw = Gateway(runtime)
    gw.auth = FakeAuth()
    return gw


async def fail(js, seq: int, consumer: str, event_id: str, error: str, attempts: int = 5):
    await dead_letter(js, consumer=consumer, subject="mercato.orders.OrderConfirmed",
                      data=b'{"secret": "payload"}', event_id=event_id,
                      event_type="OrderConfirmed", error=error, attempts=attempts,
                      stream="MERCATO_ORDERS", stream_seq=seq)


async def test_an_admin_sees_each_dead_letter_with_its_consumer_error_and_attempts(gateway, js):
    await fail(js, 7, "notifications__orders", "e-1", "RuntimeError: mailer down")
    await fail(js, 9, "cart__orders", "e-2", "KeyError: 'cart'\nline two", attempts=3)
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/dead-letters", headers=ADMIN)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["seq"], i["consumer"], i["event_id"], i["attempts"]) for i in items] == [
        (1, "notifications__orders", "e-1", 5), (2, "cart__orders", "e-2", 3)]
    assert items[0]["error"] == "RuntimeError: mailer down"
    assert items[1]["error"] == "KeyError: 'cart' | line two"
    assert items[0]["event_type"] == "OrderConfirmed"
    assert items[0]["subject"] == "mercato.orders.OrderConfirmed"
    assert items[0]["failed_at"].endswith("Z")
    assert all("data" not in i and "secret" not in str(i) for i in items)


async def test_a_replayed_dead_letter_is_no_longer_listed(gateway, js):
    await fail(js, 7, "notifications__orders", "e-1", "boom")
    await fail(js, 8, "notifications__orders", "e-2", "boom")
    del js.messages[1]  # what replay_dead_letter does after re-publishing
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/dead-letters", headers=ADMIN)
    assert [i["event_id"] for i in r.json()["items"]] == ["e-2"]


async def test_no_dead_letter_stream_yet_is_an_empty_list(gateway, js):
    js.exists = False
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/dead-letters", headers=ADMIN)
    assert r.status_code == 200
    assert r.json() == {"items": []}


async def test_an_empty_dead_letter_stream_is_an_empty_list(gateway, js):
    async with client(gateway) as c:
        fresh = await c.get("/api/v1/ops/dead-letters", headers=ADMIN)
        await fail(js, 7, "notifications__orders", "e-1", "boom")
        del js.messages[1]  # replayed: the stream is empty again, past sequence 1
        emptied = await c.get("/api/v1/ops/dead-letters", headers=ADMIN)
    assert fresh.status_code == emptied.status_code == 200
    assert fresh.json() == emptied.json() == {"items": []}


async def test_dead_letters_are_for_admins_only(gateway, js):
    await fail(js, 7, "notifications__orders", "e-1", "boom")
    async with client(gateway) as c:
        anonymous = await c.get("/api/v1/ops/dead-letters")
        customer = await c.get("/api/v1/ops/dead-letters",
                               headers={"Authorization": "Bearer customer"})
    assert anonymous.status_code == 401
    assert customer.status_code == 403
    assert "e-1" not in anonymous.text + customer.text


async def test_an_unreachable_broker_is_a_503_not_a_crash(gateway, js):
    js.down = True
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/dead-letters", headers=ADMIN)
    assert r.status_code == 503
    assert r.json()["detail"] == "dead letters are unavailable: TimeoutError"


async def test_a_gateway_without_a_broker_connection_answers_503(gateway):
    gateway.runtime.js = None
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/dead-letters", headers=ADMIN)
    assert r.status_code == 503
    assert "not connected to NATS" in r.json()["detail"]


async def test_an_unknown_ops_route_is_404(gateway):
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/dead-letter", headers=ADMIN)
    assert r.status_code == 404
    assert r.json()["detail"] == "no operations route GET /api/v1/ops/dead-letter"

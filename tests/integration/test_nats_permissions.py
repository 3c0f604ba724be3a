"""The NATS users against a real server started with their permissions: every user does
its own work through the chassis' own code (a missing permission fails that code, and is
reported as an async ``permissions violation``), and the forbidden things fail."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time

import nats
import nats.js.errors
import nkeys
import pytest
from nats.errors import TimeoutError as NatsTimeout

from mercato.chassis.calls import registry, routing
from mercato.chassis.calls.registry import Registration, RegistryView
from mercato.chassis.calls.routing import Policy, RoutingView
from mercato.chassis.messaging import Broadcast, Broadcasts, Consumers, Outbox, Relay
from mercato.chassis.messaging.credentials import connect_options
from mercato.chassis.messaging.dlq import dead_letter, list_dead_letters
from mercato.chassis.messaging.streams import ensure_stream, event_stream_config
from mercato.chassis.runtime import make_instance
from mercato.chassis.security import Principal
from mercato.cli.events import Tail
from mercato.cli.verify import consumer_positions
from mercato.contracts import stream_for
from mercato.contracts.catalog import ProductCreated, ProductUpdated
from mercato.gateway.audit import AUDIT_STREAM, AUDIT_SUBJECT, AuditTrail, audit_stream_config
from mercato.gateway.dead_letters import answer_dead_letter
from mercato.gateway.events_feed import answer_events
from mercato.platform.audit import record
from mercato.platform.catalog import SERVICES
from mercato.platform.nats_auth import ensure_credentials, nats_users
from mercato.platform.nats_permissions import publishers, subscriptions_of
from mercato.platform.nats_server import (
    check_nats_config,
    free_port,
    nats_binary,
    write_nats_config,
)
from mercato.platform.workload_keys import set_up_streams
from tests.integration.messaging_kit import eventually, messaging_db

pytestmark = pytest.mark.integration
WAIT = 0.5  # a forbidden request is never answered: wait this long for its reply


@dataclasses.dataclass
class Server:
    url: str
    config: object
    seeds: dict


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("nats_auth")
    seeds = ensure_credentials(root / "keys")
    port = free_port()
    config = write_nats_config(port, root / "store", users=nats_users(seeds))
    proc = subprocess.Popen([nats_binary(), "-c", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("nats-server did not start") from None
            time.sleep(0.05)
    yield Server(f"nats://127.0.0.1:{port}", config, seeds)
    proc.terminate()
    proc.wait(10)


async def connect_as(server: Server, user: str, errors: list[str] | None = None):
    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc))
    return await nats.connect(server.url, **connect_options(user, server.seeds[user]),
                              error_cb=on_error, allow_reconnect=False, connect_timeout=2)


@pytest.fixture
async def platform(server):
    """What the supervisor sets up before the services start: every event stream, the
    dead-letter stream, both buckets, and a routing policy."""
    errors: list[str] = []
    nc = await connect_as(server, "supervisor", errors)
    js = nc.jetstream(timeout=2)
    await set_up_streams(js, registry_ttl=10)  # the supervisor's own code
    kv = await routing.open_bucket(js)
    await kv.put("orders", Policy(stable="1").to_json())
    await nc.close()
    assert errors == []
    return server


def envelope(source: str, event_type: str) -> bytes:
    """An envelope whose payload its consumer cannot read: it is dead-lettered, then acked."""
    return json.dumps({"id": os.urandom(8).hex(), "type": event_type, "source": source,
                       "occurred_at": "2026-01-01T00:00:00+00:00", "payload": {}}).encode()


def violation(subject: str, kind: str = "publish") -> str:
    """The server's ``-ERR 'Permissions Violation for Publish to "<subject>"'``, as nats-py
    hands it to the error callback (lower-cased)."""
    return f'nats: permissions violation for {kind} to "{subject}"'.lower()


async def ready() -> bool:
    return True


def test_the_server_accepts_the_generated_configuration(server):
    ok, said = check_nats_config(server.config)
    assert ok, said


async def test_a_connection_without_valid_credentials_is_refused(server, tmp_path):
    async def quiet(_exc):
        pass
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(server.url, allow_reconnect=False, connect_timeout=2,
                           error_cb=quiet)
    stranger = tmp_path / "stranger.nk"
    stranger.write_bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(server.url, nkeys_seed=str(stranger), allow_reconnect=False,
                           connect_timeout=2, error_cb=quiet)


@pytest.mark.parametrize("service", list(SERVICES))
async def test_a_service_does_its_own_work_as_its_own_user(platform, service, tmp_path):
    errors: list[str] = []
    nc = await connect_as(platform, service, errors)
    js = nc.jetstream(timeout=2)
    db = messaging_db(tmp_path / "service.db")
    if service in publishers():  # its stream, and an event through the outbox relay
        await ensure_stream(js, event_stream_config(service))
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO outbox (id, subject, body, created_at) VALUES "
                             "(?, ?, ?, ?)", "e1", f"mercato.{service}.Probe",
                             envelope(service, "Probe"), "2026-01-01T00:00:00+00:00")
        relay = Relay(Outbox(db, service), js, ack_timeout=2)
        assert await relay.publish_pending() == 1
        # how far its stream's consumers got (the durables other services' cases made
        # here have everything, or there are none yet) and their dead letters (those
        # cases dead-letter what they fetch: then the whole retention is re-driven)
        await relay.guard.advance()
        again = 0 if relay.guard.watermark() and not relay.guard.dead_letters else 1
        assert await relay.guard.redrive("test") == again  # writes the stream's baseline
        assert await relay.publish_pending() == again
    reg = Registration(nc, make_instance(service, 1, "http://127.0.0.1:1", "1"), 5, 10)
    view, routes = RegistryView(nc, 10), RoutingView(nc)
    await reg.start(ready)
    await view.start()
    await routes.start()
    assert reg.instance.instance_id in [i.instance_id for i in view.all()]
    assert routes.policies["orders"] == Policy(stable="1")
    # Its durables on the publishers' streams: one unreadable event each, fetched,
    # dead-lettered and acked.
    subs = [dataclasses.replace(s, own_transaction=False) for s in subscriptions_of(service)]
    sent = {}
    for sub in subs:
        pub = await connect_as(platform, sub.source, errors)
        ack = await pub.jetstream(timeout=2).publish(
            sub.events[0].subject(), envelope(sub.source, sub.events[0].type_name()))
        sent[sub.name] = ack.seq
        await pub.close()
    consumers = Consumers(service, db, js, subs, backoff=(0.1,))
    await consumers.start()

    async def all_acked() -> bool:
        for sub in subs:
            info = await js.consumer_info(stream_for(sub.source), consumers.durable(sub))
            if info.ack_floor.stream_seq < sent[sub.name] or info.num_ack_pending:
                return False
        return True
    try:
        assert await eventually(all_acked, 5)
    finally:
        await consumers.stop()
        await routes.stop()
        await view.stop()
        await reg.stop()
        await nc.close()
        await db.close()
    assert errors == []


async def settled(nc, errors: list[str], expected: int) -> None:
    """Wait (briefly) for the server's async errors to reach the error callback, then
    close the connection."""
    await nc.flush()

    async def arrived() -> bool:
        return len(errors) >= expected
    await eventually(arrived, 1.0)
    await nc.close()


async def refused(server: Server, user: str, attempt) -> list[str]:
    """Run ``attempt(nc, js)`` as ``user``: it must time out; returns the server's errors."""
    errors: list[str] = []
    nc = await connect_as(server, user, errors)
    try:
        with pytest.raises(NatsTimeout):
            await attempt(nc, nc.jetstream(timeout=WAIT))
        await nc.flush()
    finally:
        await nc.close()
    return errors


async def test_cart_cannot_publish_a_payments_event(platform):
    async def forge(_nc, js):
        await js.publish("mercato.payments.PaymentCaptured", envelope("payments", "X"))
    errors = await refused(platform, "cart", forge)
    assert errors == [violation("mercato.payments.PaymentCaptured")]


async def test_a_service_cannot_write_another_services_registry_key(platform):
    async def rogue(_nc, js):
        kv = await js.key_value(registry.BUCKET)
        await kv.put("payments.payments-9-rogue", b'{"service": "payments"}')
    errors = await refused(platform, "cart", rogue)
    assert errors == [violation("$KV.mercato_registry.payments.payments-9-rogue")]


@pytest.mark.parametrize("user", ["orders", "cli"])
async def test_only_the_deploy_tooling_writes_routing(platform, user):
    async def steer(_nc, js):
        kv = await js.key_value(routing.BUCKET)
        await kv.put("payments", Policy(stable="evil").to_json())
    errors = await refused(platform, user, steer)
    assert errors == [violation("$KV.mercato_routing.payments")]


async def test_a_service_cannot_change_another_services_stream(platform):
    async def shrink(_nc, js):
        await js.update_stream(dataclasses.replace(event_stream_config("payments"),
                                                   max_msgs=1))
    errors = await refused(platform, "cart", shrink)
    assert errors == [violation("$JS.API.STREAM.UPDATE.MERCATO_PAYMENTS")]


async def test_a_service_cannot_fetch_another_services_messages(platform):
    async def steal(_nc, js):
        psub = await js.pull_subscribe_bind(durable="payments__checkout_orders",
                                            stream="MERCATO_ORDERS")
        await psub.fetch(1, timeout=WAIT)
    errors = await refused(platform, "cart", steal)
    assert errors == [
        violation("$JS.API.CONSUMER.MSG.NEXT.MERCATO_ORDERS.payments__checkout_orders")]


async def test_a_service_cannot_listen_beyond_its_own_inboxes(platform):
    errors: list[str] = []
    nc = await connect_as(platform, "cart", errors)
    for subject in ("mercato.>", "_INBOX.>", "_INBOX.payments.>"):
        await nc.subscribe(subject)
    await settled(nc, errors, 3)
    assert errors == [violation(s, "subscription")
                      for s in ("mercato.>", "_INBOX.>", "_INBOX.payments.>")]


async def test_the_cli_reads_everything_and_publishes_no_event(platform):
    errors: list[str] = []
    nc = await connect_as(platform, "cli", errors)
    js = nc.jetstream(timeout=2)
    tail = Tail(nc, emit=lambda _line: None)
    assert "MERCATO_ORDERS" in await tail.subscribe_new_streams()
    await tail.close()
    await list_dead_letters(js)
    await consumer_positions(js)
    assert errors == []
    writes = ["mercato.orders.OrderPlaced", "$KV.mercato_registry.cli.cli-1",
              "$KV.mercato_routing.orders", "mercato.dlq.cart__order_confirmed",
              "$JS.API.STREAM.DELETE.MERCATO_ORDERS", "$JS.API.STREAM.PURGE.MERCATO_DLQ"]
    for subject in writes:
        await nc.publish(subject, b"{}")
    await settled(nc, errors, len(writes))
    assert errors == [violation(s) for s in writes]


async def test_an_operator_command_audits_itself_but_cannot_pass_for_the_gateway(platform):
    errors: list[str] = []
    nc = await connect_as(platform, "cli", errors)
    said: list[str] = []
    assert await record(nc.jetstream(timeout=2), "mercato dlq replay 3", 0, "ok", said.append)
    assert said == []
    await nc.publish(AUDIT_SUBJECT, b'{"actor": "admin"}')
    await settled(nc, errors, 1)
    assert errors == [violation(AUDIT_SUBJECT)]
    reader = await connect_as(platform, "gateway")
    newest = (await AuditTrail(lambda: reader.jetstream(timeout=2)).newest(5))
    await reader.close()
    entry = next(e for e in newest if e["method"] == "CLI")
    assert entry["path"] == "mercato dlq replay 3" and entry["status"] == 0


@pytest.mark.parametrize("verb", ["update", "delete", "purge", "delete_msg"])
async def test_the_gateway_cannot_change_the_audit_trail(platform, verb):
    async def change(_nc, js):
        if verb == "update":
            await js.update_stream(dataclasses.replace(audit_stream_config(), max_msgs=1))
        elif verb == "delete_msg":
            await js.delete_msg(AUDIT_STREAM, 1)
        else:
            await getattr(js, f"{verb}_stream")(AUDIT_STREAM)
    errors = await refused(platform, "gateway", change)
    assert len(errors) == 1 and "permissions violation" in errors[0], errors


async def test_not_even_the_supervisor_can_allow_deleting_audit_entries(platform):
    nc = await connect_as(platform, "supervisor")
    js = nc.jetstream(timeout=2)
    try:  # it may update the stream (it created it), but the denials cannot be cancelled
        config = (await js.stream_info(AUDIT_STREAM)).config
        assert config.deny_delete and config.deny_purge
        with pytest.raises(nats.js.errors.ServerError, match="can not cancel"):
            await js.update_stream(dataclasses.replace(audit_stream_config(),
                                                       deny_delete=False, deny_purge=False))
    finally:
        await nc.close()


async def test_the_gateway_audits_reads_the_events_and_replays_a_dead_letter(platform):
    errors: list[str] = []
    cart = await connect_as(platform, "cart", errors)
    await dead_letter(cart.jetstream(timeout=2), consumer="cart__order_confirmed",
                      subject="mercato.orders.OrderConfirmed", data=b"{}", event_id="e9",
                      event_type="OrderConfirmed", error="boom", attempts=5,
                      stream="MERCATO_ORDERS", stream_seq=int.from_bytes(os.urandom(4)))
    await cart.close()
    nc = await connect_as(platform, "gateway", errors)
    js = nc.jetstream(timeout=2)
    trail = AuditTrail(lambda: js)
    admin = Principal("admin", frozenset({"admin"}), email="a@x")
    await trail.record(admin, "POST", "/x", 200, "r")
    assert (await trail.newest(1))[0]["actor"] == "admin"
    assert (await answer_events(js, b"limit=5"))[0] == 200
    letter = next(d for d in await list_dead_letters(js) if d.event_id == "e9")
    status, body = await answer_dead_letter(
        js, "POST", f"/api/v1/ops/dead-letters/{letter.seq}/replay", b"")
    assert status == 200, body
    await nc.close()
    assert errors == []


def updated(product_id: str) -> bytes:
    return json.dumps({"id": os.urandom(8).hex(), "type": "ProductUpdated",
                       "source": "catalog", "occurred_at": "2026-01-01T00:00:00+00:00",
                       "payload": {"product_id": product_id, "changes": {"price": 1}}}).encode()


async def test_every_catalog_instance_hears_each_new_product_event(platform):
    # messaging/broadcast.py as the catalog's own user: two instances, both hear it
    errors: list[str] = []
    ncs = [await connect_as(platform, "catalog", errors) for _ in range(2)]
    js = ncs[0].jetstream(timeout=2)
    await js.publish("mercato.catalog.ProductUpdated", updated("before"))  # not new
    heard: list[list[str]] = [[], []]
    listeners = []
    for i, nc in enumerate(ncs):
        async def on(_envelope, event, i=i) -> None:
            heard[i].append(event.product_id)
        listeners.append(Broadcasts(nc.jetstream(timeout=2), [
            Broadcast("product_changes", (ProductCreated, ProductUpdated), on)]))
        await listeners[-1].start()
    await js.publish("mercato.catalog.ProductUpdated", updated("after"))

    async def both() -> bool:
        return heard == [["after"], ["after"]]
    try:
        assert await eventually(both, 5), heard
    finally:
        for b in listeners:
            await b.stop()
        for nc in ncs:
            await nc.close()
    assert errors == []


async def test_the_catalog_cannot_make_or_change_a_durable_on_its_stream(platform):
    async def durable(_nc, js):
        await js.add_consumer("MERCATO_CATALOG", durable_name="cart__products",
                              ack_policy="explicit")
    errors = await refused(platform, "catalog", durable)
    assert errors == [violation("$JS.API.CONSUMER.DURABLE.CREATE.MERCATO_CATALOG.cart__products")]
    # the name-less create it may use: the server refuses a durable there
    nc = await connect_as(platform, "catalog")
    try:
        reply = await nc.request("$JS.API.CONSUMER.CREATE.MERCATO_CATALOG", json.dumps(
            {"stream_name": "MERCATO_CATALOG",
             "config": {"durable_name": "cart__products", "ack_policy": "explicit"}}).encode(),
            timeout=2)
    finally:
        await nc.close()
    assert "error" in json.loads(reply.data)

"""The NATS users' least privilege (platform/nats_permissions.py), read as the server reads it:
a subject is allowed when an allow pattern matches it and no deny pattern does; and their
nkey seeds (platform/nats_auth.py)."""

from __future__ import annotations

import stat

import pytest

from mercato.contracts import all_events, stream_for
from mercato.platform.catalog import SERVICES
from mercato.platform.nats_auth import ensure_credentials, nats_users, public_key_of, public_keys
from mercato.platform.nats_permissions import USERS, durables, permissions, publishers
from mercato.platform.nats_server import nats_config


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` one or more at the end."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def may_publish(user: str, subject: str) -> bool:
    rules = permissions(user)["publish"]
    return (any(matches(p, subject) for p in rules["allow"])
            and not any(matches(p, subject) for p in rules.get("deny", [])))


def may_subscribe(user: str, subject: str) -> bool:
    return any(matches(p, subject) for p in permissions(user)["subscribe"]["allow"])


def event_subjects(source: str) -> list[str]:
    return [e.subject() for e in all_events().values() if e.SOURCE == source]


def test_the_matcher_reads_wildcards_as_nats_does():
    assert matches("mercato.cart.>", "mercato.cart.a.b")
    assert not matches("mercato.cart.>", "mercato.cart")
    assert matches("$JS.API.CONSUMER.INFO.S.*", "$JS.API.CONSUMER.INFO.S.x")
    assert not matches("$JS.API.CONSUMER.INFO.S.*", "$JS.API.CONSUMER.INFO.S.x.y")


def test_there_is_a_user_per_service_and_for_the_gateway_supervisor_and_cli():
    assert set(USERS) == {*SERVICES, "gateway", "supervisor", "cli"}
    with pytest.raises(KeyError, match="no NATS user"):
        permissions("intruder")


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_publishes_its_own_events_and_no_other_services(service):
    for source in publishers():
        for subject in event_subjects(source):
            assert may_publish(service, subject) == (source == service), subject


def test_cart_cannot_publish_a_payments_event():
    assert "payments" in publishers()
    assert not may_publish("cart", "mercato.payments.PaymentCaptured")
    assert not may_publish("cart", "mercato.payments.replay.orders__checkout_payments")


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_writes_its_own_registry_key_and_no_other(service):
    assert may_publish(service, f"$KV.mercato_registry.{service}.{service}-1-abc123")
    for other in [*SERVICES, "gateway"]:
        if other != service:
            assert not may_publish(service, f"$KV.mercato_registry.{other}.{other}-1-abc")


@pytest.mark.parametrize("user", USERS)
def test_only_the_deploy_tooling_writes_routing(user):
    # mercato up / mercato deploy, and the console's Promote and Rollback
    assert may_publish(user, "$KV.mercato_routing.orders") == (user in ("supervisor",
                                                                         "gateway"))


@pytest.mark.parametrize("user", USERS)
def test_everyone_reads_the_registry_and_routing(user):
    for bucket in ("mercato_registry", "mercato_routing"):
        assert may_publish(user, f"$JS.API.STREAM.INFO.KV_{bucket}")
        assert may_publish(user, f"$JS.API.CONSUMER.CREATE.KV_{bucket}")


@pytest.mark.parametrize("user", USERS)
def test_a_user_gets_replies_on_its_own_inboxes_only(user):
    assert may_subscribe(user, f"_INBOX.{user}.Xy12.1")
    for other in USERS:
        if other != user:
            assert not may_subscribe(user, f"_INBOX.{other}.Xy12.1")
    assert not may_subscribe(user, "mercato.orders.OrderPlaced")
    assert not may_publish(user, f"_INBOX.{user}.Xy12.1")


@pytest.mark.parametrize("service", [s for s in SERVICES if durables(s)])
def test_a_service_runs_its_own_durables_and_touches_no_other_services(service):
    for stream, durable in durables(service):
        assert durable.startswith(f"{service}__")
        for subject in (f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
                        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
                        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
                        f"$JS.ACK.{stream}.{durable}.1.5.5.1700000000.0",
                        f"mercato.dlq.{durable}"):
            assert may_publish(service, subject), subject
    for other in SERVICES:
        for stream, durable in durables(other) if other != service else ():
            assert not may_publish(service, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}")
            assert not may_publish(service, f"$JS.ACK.{stream}.{durable}.1.5.5.1.0")
            assert not may_publish(service, f"mercato.dlq.{durable}")


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_changes_no_stream_but_its_own(service):
    for source in publishers():
        for verb in ("CREATE", "UPDATE"):
            assert may_publish(service, f"$JS.API.STREAM.{verb}.{stream_for(source)}") == (
                source == service)
    for verb in ("CREATE", "UPDATE", "DELETE", "PURGE"):
        assert not may_publish(service, f"$JS.API.STREAM.{verb}.MERCATO_DLQ")


def test_the_cli_writes_no_event_and_only_replays_dead_letters():
    writes = [*(s for p in publishers() for s in event_subjects(p)),
              "$KV.mercato_registry.cli.x", "$KV.mercato_routing.orders", "mercato.dlq.x",
              "audit.gateway",
              "$JS.API.STREAM.CREATE.MERCATO_ORDERS", "$JS.API.STREAM.DELETE.MERCATO_ORDERS",
              "$JS.API.STREAM.PURGE.MERCATO_DLQ"]
    assert [s for s in writes if may_publish("cli", s)] == []
    # `mercato dlq replay`: the letter's event again, for the one consumer, then removed
    assert may_publish("cli", "mercato.orders.replay.cart__order_confirmed")
    assert may_publish("cli", "$JS.API.STREAM.MSG.DELETE.MERCATO_DLQ")
    assert may_publish("cli", "$JS.API.STREAM.LIST")
    assert may_publish("cli", "$JS.API.STREAM.MSG.GET.MERCATO_DLQ")
    assert may_publish("cli", "$JS.API.STREAM.MSG.GET.MERCATO_ORDERS")


@pytest.mark.parametrize("user", ["gateway", "cli"])
def test_readers_of_the_event_streams_cannot_fetch_from_or_change_a_service_durable(user):
    assert may_publish(user, "$JS.API.CONSUMER.MSG.NEXT.MERCATO_ORDERS.a1b2c3ephemeral")
    assert may_publish(user, "$JS.API.CONSUMER.CREATE.MERCATO_ORDERS.a1b2c3.mercato.orders.>")
    for stream, durable in [p for s in SERVICES for p in durables(s)]:
        assert not may_publish(user, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}")
        assert not may_publish(user, f"$JS.API.CONSUMER.CREATE.{stream}.{durable}")
        assert not may_publish(user, f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.mercato.>")


def test_the_gateway_writes_the_audit_trail_and_replays_but_never_events():
    assert may_publish("gateway", "audit.gateway")
    assert may_publish("gateway", "$JS.API.STREAM.CREATE.AUDIT")
    for verb in ("UPDATE", "DELETE", "PURGE", "MSG.DELETE"):  # the trail is not changed
        assert not any(may_publish(user, f"$JS.API.STREAM.{verb}.AUDIT")
                       for user in ("gateway", "cli", *SERVICES)), verb
    assert may_publish("gateway", "mercato.payments.replay.orders__checkout_payments")
    assert not may_publish("gateway", "mercato.payments.PaymentCaptured")
    assert not may_publish("gateway", "$JS.API.STREAM.UPDATE.MERCATO_PAYMENTS")


@pytest.mark.parametrize("user", ["cli", "supervisor"])
def test_operator_commands_audit_themselves_on_their_own_subject_only(user):
    assert may_publish(user, "audit.cli")
    assert not may_publish(user, "audit.gateway")  # an entry cannot pass for the gateway's
    assert not may_publish("gateway", "audit.cli")  # nor the gateway's for the operator's
    assert not any(may_publish(s, "audit.cli") for s in SERVICES)


def test_the_supervisor_sets_up_every_stream_and_publishes_no_event():
    for stream in [*map(stream_for, publishers()), "MERCATO_DLQ", "AUDIT"]:
        assert may_publish("supervisor", f"$JS.API.STREAM.CREATE.{stream}")
    assert not any(may_publish("supervisor", s) for p in publishers()
                   for s in event_subjects(p))
    assert not may_publish("supervisor", "$KV.mercato_registry.orders.orders-1-abc")


def test_seeds_are_private_and_reused(tmp_path):
    first = ensure_credentials(tmp_path / "keys")
    folder = tmp_path / "keys" / "nats"
    assert set(first) == set(USERS)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for user, path in first.items():
        assert path == folder / f"{user}.nk"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = public_keys(first)
    seeds = {user: path.read_bytes() for user, path in first.items()}
    assert ensure_credentials(tmp_path / "keys") == first
    assert {user: path.read_bytes() for user, path in first.items()} == seeds
    assert public_keys(first) == keys
    assert len(set(keys.values())) == len(USERS)
    assert all(key.startswith("U") for key in keys.values())


def test_an_unreadable_seed_is_refused_not_replaced(tmp_path):
    (tmp_path / "nats").mkdir()
    bad = tmp_path / "nats" / "cart.nk"
    bad.write_text("not a seed")
    with pytest.raises(ValueError, match="no nkey seed"):
        ensure_credentials(tmp_path)
    assert bad.read_text() == "not a seed"
    with pytest.raises(ValueError):
        public_key_of(bad)


def test_the_config_holds_public_keys_and_permissions_never_seeds(tmp_path):
    credentials = ensure_credentials(tmp_path / "keys")
    text = nats_config(5333, tmp_path / "store", users=nats_users(credentials))
    assert "authorization {" in text
    for user, path in credentials.items():
        assert f"# {user}\n" in text
        assert public_key_of(path) in text
        assert path.read_text() not in text
    assert '"_INBOX.cart.>"' in text


def test_without_users_the_config_has_no_authorization(tmp_path):
    assert "authorization" not in nats_config(5333, tmp_path)


def test_every_consuming_service_gets_its_durables_wherever_its_subscriptions_live():
    # orders keeps its subscriptions under entrypoints/: without its durables it may not
    # read the streams it consumes and cannot start (a whole platform failed on this)
    consumers = {s for s in SERVICES if durables(s)}
    assert consumers == {"inventory", "cart", "orders", "payments", "shipping",
                         "notifications", "loyalty", "identity"}
    assert {stream for stream, _ in durables("orders")} >= {
        stream_for("inventory"), stream_for("payments"), stream_for("shipping")}


@pytest.mark.parametrize("service", list(SERVICES))
def test_only_the_catalog_hears_its_own_stream_and_only_through_server_named_consumers(
        service):
    # messaging/broadcast.py: an ephemeral ordered push consumer per instance, named by
    # the server; never a consumer of its choosing (that could be another's durable)
    hears = service == "catalog"
    assert may_publish(service, "$JS.API.CONSUMER.CREATE.MERCATO_CATALOG") == hears
    assert may_publish(service, "$JS.FC.MERCATO_CATALOG.abc.1") == hears
    for stream in map(stream_for, publishers()):
        assert not may_publish(service, f"$JS.API.CONSUMER.CREATE.{stream}.anyname")
        assert not may_publish(service, f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.anyname")
        if stream != "MERCATO_CATALOG":
            assert not may_publish(service, f"$JS.API.CONSUMER.CREATE.{stream}")

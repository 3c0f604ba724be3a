"""``mercato up --fault-proxies``: each service instance's links routed through proxies
(platform/faults/links.py), driven over the control socket and by ``mercato faults``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from mercato.cli.faults import parse_toxics
from mercato.platform.control import Control
from mercato.platform.faults.links import FaultLinks
from mercato.platform.supervisor import ProcessSpec, Supervisor

ENV = {"MERCATO_NATS_URL": "nats://127.0.0.1:4333,nats://127.0.0.1:4334",
       "MERCATO_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/"}


@pytest.fixture
async def links():
    made = FaultLinks()
    yield made
    await made.close()


def spec(name: str, env: dict[str, str]) -> ProcessSpec:
    return ProcessSpec(name, ["mercato", "serve", name.split("-")[0]], dict(env),
                       Path("/tmp/x.log"))


async def test_an_instance_is_reached_through_its_proxy_and_reaches_nats_and_pg_through_others(
        links):
    routed = await links.route(spec("payments-1", ENV), "payments")
    port = int(routed.argv[routed.argv.index("--port") + 1])
    front = links.proxies["to-payments-1"]
    assert front.upstream == ("127.0.0.1", port)
    assert routed.env["MERCATO_ADVERTISE_URL"] == f"http://127.0.0.1:{front.listen_port}"
    nats, db = links.proxies["nats-payments"], links.proxies["db-payments"]
    assert (nats.upstream, db.upstream) == (("127.0.0.1", 4333), ("127.0.0.1", 5432))
    assert routed.env["MERCATO_NATS_URL"] == f"nats://127.0.0.1:{nats.listen_port}"
    assert routed.env["MERCATO_PAYMENTS_DATABASE_URL"] == \
        f"postgresql://postgres@127.0.0.1:{db.listen_port}/"
    again = await links.route(spec("payments-2", ENV), "payments")  # a replica: same links
    assert again.env["MERCATO_NATS_URL"] == routed.env["MERCATO_NATS_URL"]
    assert sorted(links.proxies) == ["db-payments", "nats-payments", "to-payments-1",
                                     "to-payments-2"]


async def test_sqlite_has_no_database_link(links):
    await links.route(spec("cart-1", {"MERCATO_NATS_URL": "nats://127.0.0.1:4333"}), "cart")
    assert sorted(links.proxies) == ["nats-cart", "to-cart-1"]


async def test_the_control_socket_sets_heals_and_refuses_by_name(links):
    await links.route(spec("payments-1", ENV), "payments")
    await links.route(spec("orders-1", ENV), "orders")
    control = Control(Supervisor(lambda _m: None), lambda n, v: spec(n, ENV), "1", links)
    changed = await control.handle({"op": "fault", "proxy": "to-*",
                                    "set": {"downstream": {"latency_ms": 50}}})
    assert [(r["name"], r["toxics"]) for r in changed] == [
        ("to-orders-1", {"downstream": {"latency_ms": 50}}),
        ("to-payments-1", {"downstream": {"latency_ms": 50}})]
    with pytest.raises(ValueError, match="no fault proxy matches 'to-shipping-\\*'"):
        await control.handle({"op": "fault", "proxy": "to-shipping-*", "set": {"drop": 1}})
    with pytest.raises(ValueError, match="unknown toxic"):  # and none was changed
        await control.handle({"op": "fault", "proxy": "*", "set": {"upstream": {"lag": 1}}})
    listed = {p["name"]: p["toxics"] for p in await control.handle({"op": "faults"})}
    assert listed["db-orders"] == {} and listed["to-orders-1"] != {}
    assert await control.handle({"op": "heal"}) == sorted(links.proxies)
    assert all(not p.link.active() for p in links.proxies.values())


async def test_a_platform_without_proxies_says_how_to_get_them():
    control = Control(Supervisor(lambda _m: None), lambda n, v: spec(n, ENV), "1")
    with pytest.raises(ValueError, match="--fault-proxies"):
        await control.handle({"op": "faults"})


def test_the_command_line_toxics_become_the_control_sockets_object():
    assert parse_toxics(["latency_ms=200", "jitter_ms=50", "drop=0.1"], "both") == {
        "drop": 0.1, "upstream": {"latency_ms": 200, "jitter_ms": 50},
        "downstream": {"latency_ms": 200, "jitter_ms": 50}}
    assert parse_toxics(["blackhole=true"], "upstream") == {"upstream": {"blackhole": True}}
    assert parse_toxics(["enabled=false"], "both") == {"enabled": False}
    for bad in (["latency_ms"], ["latency_ms=fast"], ["=3"]):
        with pytest.raises(typer.BadParameter):
            parse_toxics(bad, "both")
    with pytest.raises(typer.BadParameter):
        parse_toxics(["stall=true"], "sideways")


async def test_a_password_in_the_database_url_is_kept_and_liveness_knows_the_direct_port(
        links):
    env = {**ENV, "MERCATO_DATABASE_URL": "postgresql://app:s%40cret@db.local:6432/"}
    routed = await links.route(spec("orders-1", env), "orders")
    db = links.proxies["db-orders"]
    assert db.upstream == ("db.local", 6432)
    assert routed.env["MERCATO_ORDERS_DATABASE_URL"] == \
        f"postgresql://app:s%40cret@127.0.0.1:{db.listen_port}/"
    port = routed.argv[routed.argv.index("--port") + 1]
    assert links.direct["orders-1"] == f"http://127.0.0.1:{port}"

"""A three-node JetStream cluster started by the project's own code (``nats_specs``, the
configuration ``mercato up --nats-cluster 3`` writes): an event stream made through the
chassis keeps three copies, and an event JetStream acknowledged is never lost when the
stream's leader is SIGKILLed — publishing and reading go on meanwhile through the other
nodes, and the killed node comes back and catches up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import nats
import pytest

from mercato.chassis.messaging.credentials import connect_options
from mercato.chassis.messaging.servers import nats_servers
from mercato.chassis.messaging.streams import ensure_streams
from mercato.chassis.tls import TlsFiles, client_context, ensure_pki
from mercato.chassis.tls.pki import ca_path, cert_key_path, cert_path
from mercato.contracts.envelope import stream_for
from mercato.platform.nats_auth import ensure_credentials, nats_users
from mercato.platform.nats_up import nats_specs, retrying, set_up_jetstream, wait_jetstream
from tests.integration.messaging_kit import listening

pytestmark = pytest.mark.integration
SUBJECT = "mercato.orders.cluster-test"


class Node:
    def __init__(self, argv: list[str], port: int, log) -> None:
        self.argv, self.port, self.log = argv, port, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=out)
        if not listening(self.port, 15):
            raise RuntimeError(f"node on {self.port} did not listen: {self.log.read_text()}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@contextlib.contextmanager
def three_nodes(tmp_path: Path, users=None, tls=None):
    """The cluster ``mercato up --nats-cluster 3`` runs, started here (without the
    supervisor, so that a killed node stays dead until the test restarts it)."""
    url, specs = nats_specs(3, tmp_path, dict(os.environ), tmp_path / "logs", users or {}, tls)
    (tmp_path / "logs").mkdir()
    nodes = {f"mercato-{spec.name}": Node(spec.argv, port, spec.log_path)  # server names
             for spec, port in specs}
    try:
        for node in nodes.values():
            node.start()
        yield url, nodes
    finally:
        for node in nodes.values():
            if node.proc and node.proc.poll() is None:
                node.proc.terminate()
                try:
                    node.proc.wait(10)
                except subprocess.TimeoutExpired:
                    node.kill()


@pytest.fixture
def cluster(tmp_path):
    with three_nodes(tmp_path) as started:
        yield started


async def publish_acked(js, count: int, acked: list[str]) -> None:
    """Publish ``count`` events, each retried with its id until JetStream acknowledges it
    (a publish during a leader election may time out); ``acked`` gets every acked id."""
    for _ in range(count):
        msg_id = uuid.uuid4().hex

        async def once(msg_id=msg_id):
            return await js.publish(SUBJECT, msg_id.encode(), timeout=2,
                                    headers={"Nats-Msg-Id": msg_id})

        await retrying(once, 30, "a publish")
        acked.append(msg_id)


async def stored(js) -> list[str]:
    """Every event of the stream, read back with an ordered consumer."""
    info = await js.stream_info(stream_for("orders"))
    sub = await js.subscribe(SUBJECT, ordered_consumer=True)
    seen: list[str] = []
    try:
        while len(seen) < info.state.messages:
            seen.append((await sub.next_msg(timeout=5)).data.decode())
    finally:
        await sub.unsubscribe()
    return seen


async def caught_up(js, name: str) -> bool:
    info = await js.stream_info(stream_for("orders"))
    peers = {p.name: p for p in info.cluster.replicas or []}
    return info.cluster.leader == name or (name in peers and peers[name].current
                                           and not peers[name].lag)


async def test_three_copies_and_no_acknowledged_event_lost_when_a_node_is_killed(cluster):
    url, nodes = cluster
    nc = await nats.connect(nats_servers(url), max_reconnect_attempts=-1,
                            reconnect_time_wait=0.2)
    try:
        js = nc.jetstream()
        await set_up_jetstream(nc, 10.0, 3)  # what mercato up does: every stream, R3
        await retrying(lambda: ensure_streams(js, "orders", replicas=3), 30, "the stream")
        info = await js.stream_info(stream_for("orders"))
        assert info.config.num_replicas == 3
        assert {info.cluster.leader, *(p.name for p in info.cluster.replicas)} == {
            "mercato-nats-1", "mercato-nats-2", "mercato-nats-3"}
        for bucket in ("KV_mercato_registry", "KV_mercato_routing", "AUDIT", "MERCATO_DLQ"):
            assert (await js.stream_info(bucket)).config.num_replicas == 3, bucket

        acked: list[str] = []
        await publish_acked(js, 40, acked)
        victim = info.cluster.leader  # the stream's leader: the hardest node to lose
        nodes[victim].kill()
        await publish_acked(js, 40, acked)  # through the survivors, a new leader
        assert sorted(await retrying(lambda: stored(js), 30, "a read")) == sorted(acked)

        nodes[victim].start()
        await wait_jetstream(nc, 30)
        deadline = time.monotonic() + 60
        while not await retrying(lambda: caught_up(js, victim), 30, "stream info"):
            assert time.monotonic() < deadline, f"{victim} never caught up"
            await asyncio.sleep(0.2)
        await publish_acked(js, 20, acked)
        events = await retrying(lambda: stored(js), 30, "a read")
        assert sorted(events) == sorted(acked)  # nothing acked missing, nothing twice
        assert len(acked) == 100
    finally:
        await nc.close()


def route_port(node: Node) -> int:
    """The route port of a node, from the configuration it runs with."""
    conf = Path(node.argv[2]).read_text()
    return int(conf.split('listen: "127.0.0.1:')[1].split('"')[0])


def route_greeting(port: int, tls: TlsFiles | None = None, cert: bool = True) -> bytes:
    """What a route port says first to a plain connection (``tls`` None) or after a TLS
    handshake (with the node certificate, or none); an ``ssl.SSLError`` if refused."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls is not None:
        ctx = ssl.create_default_context(cafile=str(tls.ca))
        if cert:
            ctx.load_cert_chain(str(tls.cert), str(tls.key))
        sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    with sock:
        try:
            return sock.recv(200)
        except TimeoutError:
            return b""


async def test_with_mtls_and_nkey_users_every_node_and_every_route_requires_tls(tmp_path):
    ensure_pki(tmp_path, ("nats", "supervisor"))
    files = {name: TlsFiles(cert_path(tmp_path, name), cert_key_path(tmp_path, name),
                            ca_path(tmp_path)) for name in ("nats", "supervisor")}
    seeds = ensure_credentials(tmp_path / "keys", ("supervisor",))
    with three_nodes(tmp_path, nats_users(seeds), files["nats"]) as (url, nodes):
        for node in nodes.values():  # a route speaks TLS first, to a node's certificate
            port = route_port(node)
            assert not route_greeting(port).startswith(b"INFO")
            with pytest.raises(ssl.SSLError):
                route_greeting(port, files["nats"], cert=False)
            assert route_greeting(port, files["nats"]).startswith(b"INFO ")
        nc = await nats.connect(nats_servers(url), tls=client_context(files["supervisor"]),
                                **connect_options("supervisor", seeds["supervisor"]))
        try:
            js = nc.jetstream()
            await set_up_jetstream(nc, 10.0, 3)  # as the supervisor does under mercato up
            info = await js.stream_info(stream_for("orders"))
            assert info.config.num_replicas == 3
            assert len(info.cluster.replicas) == 2  # and the leader: three copies
        finally:
            await nc.close()

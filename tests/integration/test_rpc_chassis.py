"""The chassis' gRPC server and client (chassis/rpc), over real grpc.aio servers on
127.0.0.1: a servicer's domain errors arrive as the statuses, kinds and facts an HTTP
caller would read; the caller's service token is checked against the method's allowlist;
the client balances and fails over on the same Resilience as the HTTP client."""

from __future__ import annotations

import asyncio
import socket

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mercato.chassis import DomainError, ErrorTable, NotFound, Refusal, Unavailable
from mercato.chassis.calls import CallPolicy, Instance, Resilience
from mercato.chassis.rpc import RpcClient, RpcServer, allow
from mercato.chassis.tls.context import TlsFiles
from mercato.chassis.tls.pki import ca_path, cert_key_path, cert_path, ensure_pki
from mercato.contracts.proto import inventory_pb2, inventory_pb2_grpc
from tests.support.service_http import WORKLOAD_KEYS

RESERVE = "/mercato.inventory.v1.Reservations/Reserve"
COMMIT = "/mercato.inventory.v1.Reservations/Commit"
SERVICE = "mercato.inventory.v1.Reservations"


class OutOfStock(DomainError):
    pass


ERRORS = ErrorTable({OutOfStock: Refusal(409, "out-of-stock")})


class Reservations(inventory_pb2_grpc.ReservationsServicer):
    def __init__(self, name: str) -> None:
        self.name, self.seen = name, []

    @allow("orders")
    async def Reserve(self, request, context):
        self.seen.append(dict(context.invocation_metadata()))
        if request.order_id == "slow":
            await asyncio.sleep(2)
        if request.order_id == "none-left":
            raise OutOfStock("not enough stock of p1", product_ids=["p1"])
        if request.order_id == "unknown":
            raise NotFound(f"reservation {request.reservation_id} was not found")
        if request.order_id == "bug":
            raise RuntimeError("a bug")
        return inventory_pb2.Reservation(reservation_id=request.reservation_id,
                                         order_id=self.name, status="reserved",
                                         items=request.items, created=True)

    async def Commit(self, request, context):  # no allowlist: no one may call it
        return inventory_pb2.Reservation(reservation_id=request.reservation_id)


class View:
    def __init__(self, *instances: Instance) -> None:
        self.instances = list(instances)

    def ready(self, service: str) -> list[Instance]:
        return [i for i in self.instances if i.service == service]


async def _always_ready() -> bool:
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def servers():
    started = []

    async def start(name: str) -> tuple[Reservations, Instance]:
        servicer = Reservations(name)
        server = RpcServer(WORKLOAD_KEYS.identity("inventory").verify, ERRORS,
                           ready=_always_ready, reflection=True)
        server.add(servicer, inventory_pb2_grpc.add_ReservationsServicer_to_server, SERVICE)
        port = await server.start("127.0.0.1")
        started.append(server)
        return servicer, Instance("inventory", name, "http://unused", "1", health="ready",
                                  grpc=f"127.0.0.1:{port}")

    yield start
    for server in started:
        await server.stop(0)


def client_of(*instances: Instance, caller: str = "orders") -> RpcClient:
    resilience = Resilience(View(*instances), CallPolicy(total_timeout=1.0,
                                                         attempt_timeout=0.5))
    return RpcClient(resilience, WORKLOAD_KEYS.identity(caller))


def reserve(order_id: str) -> inventory_pb2.ReserveRequest:
    return inventory_pb2.ReserveRequest(
        reservation_id="r1", order_id=order_id,
        items=[inventory_pb2.Item(product_id="p1", quantity=2)])


async def test_a_command_is_answered_with_its_message(servers):
    servicer, one = await servers("inventory-1")
    client = client_of(one)
    reply = await client.call("inventory", RESERVE, reserve("o1"), inventory_pb2.Reservation)
    await client.close()
    assert reply.ok and reply.message.status == "reserved" and reply.message.created
    assert [(i.product_id, i.quantity) for i in reply.message.items] == [("p1", 2)]
    metadata = servicer.seen[0]
    assert metadata["authorization"].startswith("Bearer ") and metadata["x-request-id"]


async def test_a_domain_error_arrives_as_its_status_kind_and_facts(servers):
    _, one = await servers("inventory-1")
    client = client_of(one)
    refused = await client.call("inventory", RESERVE, reserve("none-left"),
                                inventory_pb2.Reservation)
    missing = await client.call("inventory", RESERVE, reserve("unknown"),
                                inventory_pb2.Reservation)
    bug = await client.call("inventory", RESERVE, reserve("bug"), inventory_pb2.Reservation)
    await client.close()
    assert (refused.status, refused.kind, refused.facts, refused.detail) == (
        409, "out-of-stock", {"product_ids": ["p1"]}, "not enough stock of p1")
    assert (missing.status, missing.kind) == (404, "not-found")
    assert (bug.status, bug.kind) == (500, "internal-server-error")
    assert "a bug" not in bug.detail


async def test_a_caller_outside_the_allowlist_is_refused_and_so_is_a_method_with_none(
        servers):
    _, one = await servers("inventory-1")
    cart = client_of(one, caller="cart")
    refused = await cart.call("inventory", RESERVE, reserve("o1"), inventory_pb2.Reservation)
    await cart.close()
    assert (refused.status, refused.kind) == (403, "caller-not-allowed")
    assert "cart may not call" in refused.detail
    orders = client_of(one)
    nobody = await orders.call("inventory", COMMIT, inventory_pb2.ReservationRef(
        reservation_id="r1"), inventory_pb2.Reservation)
    await orders.close()
    assert (nobody.status, nobody.kind) == (403, "caller-not-allowed")


async def test_a_call_without_a_valid_service_token_is_unauthenticated(servers):
    _, one = await servers("inventory-1")
    async with grpc.aio.insecure_channel(one.grpc) as channel:
        stub = inventory_pb2_grpc.ReservationsStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Reserve(reserve("o1"), metadata=[("authorization", "Bearer forged")])
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert ("mercato-status", "401") in tuple(caught.value.trailing_metadata())


async def test_an_instance_that_is_gone_is_passed_over_for_one_that_answers(servers):
    _, alive = await servers("inventory-2")
    gone = Instance("inventory", "inventory-1", "http://unused", "1", health="ready",
                    grpc=f"127.0.0.1:{free_port()}")
    client = client_of(gone, alive)
    answered = [await client.call("inventory", RESERVE, reserve(f"o{n}"),
                                  inventory_pb2.Reservation) for n in range(6)]
    await client.close()
    assert all(r.ok and r.message.order_id == "inventory-2" for r in answered)


async def test_a_call_past_its_deadline_is_unavailable_not_hung(servers):
    _, one = await servers("inventory-1")
    client = client_of(one)
    with pytest.raises(Unavailable, match="timed out"):
        await client.call("inventory", RESERVE, reserve("slow"), inventory_pb2.Reservation,
                          timeout=0.3)
    await client.close()


async def test_health_answers_serving_for_the_server_and_each_service(servers):
    _, one = await servers("inventory-1")
    async with grpc.aio.insecure_channel(one.grpc) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for _ in range(20):  # the mirror of readiness runs once started
            answer = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE))
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                break
            await asyncio.sleep(0.1)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def tls_of(data_dir, name: str) -> TlsFiles:
    return TlsFiles(cert_path(data_dir, name), cert_key_path(data_dir, name), ca_path(data_dir))


async def test_with_mtls_a_token_must_come_over_its_own_workloads_certificate(tmp_path):
    ensure_pki(tmp_path, ["inventory", "orders", "cart"])
    servicer = Reservations("inventory-1")
    server = RpcServer(WORKLOAD_KEYS.identity("inventory").verify, ERRORS,
                       ready=_always_ready, tls=tls_of(tmp_path, "inventory"))
    server.add(servicer, inventory_pb2_grpc.add_ReservationsServicer_to_server, SERVICE)
    port = await server.start("127.0.0.1")
    one = Instance("inventory", "inventory-1", "https://unused", "1", health="ready",
                   grpc=f"127.0.0.1:{port}")
    try:
        view = View(one)
        orders = RpcClient(Resilience(view), WORKLOAD_KEYS.identity("orders"),
                           tls=tls_of(tmp_path, "orders"))
        answered = await orders.call("inventory", RESERVE, reserve("o1"),
                                     inventory_pb2.Reservation)
        await orders.close()
        stolen = RpcClient(Resilience(view), WORKLOAD_KEYS.identity("orders"),
                           tls=tls_of(tmp_path, "cart"))  # orders' token, cart's certificate
        refused = await stolen.call("inventory", RESERVE, reserve("o1"),
                                    inventory_pb2.Reservation)
        await stolen.close()
        plain = RpcClient(Resilience(view, CallPolicy(total_timeout=1.0)),
                          WORKLOAD_KEYS.identity("orders"))
        with pytest.raises(Unavailable):  # no client certificate: no connection at all
            await plain.call("inventory", RESERVE, reserve("o1"), inventory_pb2.Reservation)
        await plain.close()
    finally:
        await server.stop(0)
    assert answered.ok and answered.message.order_id == "inventory-1"
    assert (refused.status, refused.kind) == (401, "unauthorized")
    assert "cart's certificate" in refused.detail

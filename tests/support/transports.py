"""The saga's commands to a participant over each transport, for contract tests that run
the same scenarios on both (docs/internal-transport.md): over HTTP, the service's real app
in process, reached by the real ServiceClient (tests/support/service_client.py); over
gRPC, its real servicers on a grpc.aio server on 127.0.0.1 and the chassis' RpcClient. The
orders side is the saga's own adapters either way."""

from __future__ import annotations

from contextlib import asynccontextmanager

from mercato.chassis.calls import CallPolicy, Instance, Resilience
from mercato.chassis.errors import ErrorTable
from mercato.chassis.rpc import RpcClient, RpcServer, Served
from mercato.services.orders.adapters.grpc_commands import GrpcCommands
from mercato.services.orders.adapters.http_commands import HttpCommands
from tests.support.service_client import app_client
from tests.support.service_http import WORKLOAD_KEYS

TRANSPORTS = ("http", "grpc")


class _View:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance

    def ready(self, service: str) -> list[Instance]:
        return [self.instance] if service == self.instance.service else []


async def _ready() -> bool:
    return True


@asynccontextmanager
async def rpc_client_for(service: str, served: list[Served], errors: ErrorTable):
    """An RpcClient (as orders') reaching ``served`` on a real server on 127.0.0.1."""
    server = RpcServer(WORKLOAD_KEYS.identity(service).verify, errors, ready=_ready)
    for one in served:
        server.add(*one)
    port = await server.start("127.0.0.1")
    instance = Instance(service, f"{service}-1", "http://unused", "1", health="ready",
                        grpc=f"127.0.0.1:{port}")
    rpc = RpcClient(Resilience(_View(instance), CallPolicy(total_timeout=5)),
                    WORKLOAD_KEYS.identity("orders"))
    try:
        yield rpc
    finally:
        await rpc.close()
        await server.stop(0)


@asynccontextmanager
async def commands_over(transport: str, service: str, app, served: list[Served],
                        errors: ErrorTable):
    """The saga's commands reaching ``service`` over ``transport``: its ``app`` over HTTP,
    its ``served`` servicers (with its ``errors`` table) over gRPC."""
    if transport == "http":
        yield HttpCommands(app_client({service: app}), step_timeout=5)
        return
    async with rpc_client_for(service, served, errors) as rpc:
        yield GrpcCommands(rpc, step_timeout=5)

"""An idle pooled connection is closed by the client, never under it by the server: a
server closing one as the gateway wrote a request on it failed an order with a 503."""

from fastapi import FastAPI

from mercato.chassis.calls.client import CLIENT_IDLE_SECONDS, ServiceClient
from mercato.chassis.settings import Settings
from mercato.chassis.web.serve import service_config
from mercato.gateway.proxy import Upstreams


def test_services_keep_idle_connections_longer_than_their_clients():
    config = service_config(FastAPI(), Settings(), "orders")
    assert config.timeout_keep_alive > CLIENT_IDLE_SECONDS


async def test_both_internal_clients_give_up_idle_connections_first():
    gateway = Upstreams(view=None, policy=None)  # type: ignore[arg-type]
    client = ServiceClient(view=None, identity=None)  # type: ignore[arg-type]
    for c in (gateway, client):
        await c.start()
    try:
        for session in (gateway.session, client._transport._session):
            assert session.connector._keepalive_timeout == CLIENT_IDLE_SECONDS
    finally:
        for c in (gateway, client):
            await c.close()

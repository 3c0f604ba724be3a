"""Every service shows its own calls' breakers, bulkheads and budgets at
GET /internal/breakers (service token only)."""

from __future__ import annotations

import pytest

from mercato.chassis.calls.client import ServiceClient
from mercato.chassis.calls.resilience import Unavailable
from mercato.services.catalog.bootstrap import build
from tests.support.service_http import bearer, caller_token, client, service_app


class EmptyView:
    routing = None

    def ready(self, service):
        return []

    def all(self):
        return []


async def test_a_service_lists_the_state_of_the_services_it_called(tmp_path):
    app, identity, _orders = service_app("catalog", build, tmp_path)
    runtime = app.state.runtime
    runtime.client = ServiceClient(EmptyView(), runtime.identity)
    await runtime.client.start()
    try:
        with pytest.raises(Unavailable, match="no ready instance"):
            await runtime.client.call("inventory", "GET", "/x")
        async with client(app) as http:
            as_gateway = bearer(caller_token(runtime, "gateway"))
            as_service = await http.get("/internal/breakers", headers=as_gateway)
            as_user = await http.get("/internal/breakers",
                                     headers=identity.headers("ada"))
    finally:
        await runtime.client.close()
    assert as_service.status_code == 200
    body = as_service.json()
    assert body["instance"] == runtime.instance.instance_id
    [inventory] = body["items"]
    assert inventory["service"] == "inventory"
    assert inventory["breaker"]["state"] == "closed"
    assert as_user.status_code in (401, 403)

"""The gateway's /health/ready: 200 only when it can route to every service."""

from __future__ import annotations

import pytest

from mercato.chassis.calls.registry import Instance
from mercato.gateway.policy import ROUTED_SERVICES
from mercato.gateway.readiness import missing_services
from tests.support.service_http import client
from tests.unit.gateway.test_gateway import FakeView, gateway  # noqa: F401 (fixture)


def ready(service: str, health: str = "ready") -> Instance:
    return Instance(service, f"{service}-1", f"http://{service}", "1", health=health)


class HealthView(FakeView):
    """Like RegistryView.ready: only instances whose health is ready."""

    def ready(self, service: str) -> list[Instance]:
        return [i for i in super().ready(service) if i.health == "ready"]


async def _connected() -> bool:
    return True


async def _disconnected() -> bool:
    return False


def test_missing_services_are_named_in_a_stable_order():
    view = FakeView(*(ready(s) for s in ROUTED_SERVICES if s not in ("cart", "identity")))
    assert missing_services(view) == ["identity", "cart"]
    assert missing_services(FakeView(*(ready(s) for s in ROUTED_SERVICES))) == []


@pytest.mark.parametrize("absent", sorted(ROUTED_SERVICES))
async def test_the_gateway_is_not_ready_while_a_service_has_no_ready_instance(gateway, absent):  # noqa: F811
    gateway.runtime.is_ready = _connected
    gateway.runtime.view = FakeView(*(ready(s) for s in ROUTED_SERVICES if s != absent))
    async with client(gateway) as c:
        r = await c.get("/health/ready")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["detail"] == f"no ready instance of {absent}"


async def test_an_unready_instance_does_not_count(gateway):  # noqa: F811
    gateway.runtime.is_ready = _connected
    gateway.runtime.view = HealthView(*(ready(s) for s in ROUTED_SERVICES if s != "orders"),
                                      ready("orders", "unready"))
    async with client(gateway) as c:
        assert (await c.get("/health/ready")).json()["detail"] == "no ready instance of orders"


async def test_the_gateway_is_ready_when_every_service_has_a_ready_instance(gateway):  # noqa: F811
    gateway.runtime.is_ready = _connected
    gateway.runtime.view = FakeView(*(ready(s) for s in ROUTED_SERVICES))
    async with client(gateway) as c:
        assert (await c.get("/health/ready")).status_code == 200


async def test_a_gateway_not_connected_to_the_registry_is_not_ready(gateway):  # noqa: F811
    gateway.runtime.is_ready = _disconnected
    gateway.runtime.view = FakeView(*(ready(s) for s in ROUTED_SERVICES))
    async with client(gateway) as c:
        r = await c.get("/health/ready")
        live = await c.get("/health/live")
    assert r.status_code == 503
    assert r.json()["detail"] == "the gateway is not connected to the registry"
    assert live.status_code == 200

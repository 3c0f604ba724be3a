"""GET /api/v1/ops/prometheus-targets: every live instance, the gateway included, in
Prometheus's HTTP service discovery format, through the gateway's real routing and access
checks (admin only: the list is the platform's internal addresses)."""

from __future__ import annotations

import pytest

from mercato.chassis.calls.registry import Instance
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from tests.support.service_http import WORKLOAD_KEYS, client
from tests.unit.gateway.test_ops_dead_letters import ADMIN, FakeAuth

PATH = "/api/v1/ops/prometheus-targets"


class FakeView:
    """The registry view's ``all()``: every instance whose heartbeat is fresh."""

    def __init__(self, *instances: Instance) -> None:
        self.instances = list(instances)

    def all(self) -> list[Instance]:
        return list(self.instances)


@pytest.fixture
def gateway(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime("gateway", settings, make_instance("gateway", 1, "http://gw", "1"))
    runtime.identity = WORKLOAD_KEYS.identity("gateway")
    runtime.view = FakeView(
        Instance("orders", "orders-2-bb", "http://127.0.0.1:41002", "2", health="starting"),
        Instance("gateway", "gateway-1-aa", "http://127.0.0.1:8000", "1", health="ready"),
        Instance("orders", "orders-1-cc", "http://127.0.0.1:41001", "1", health="ready"))
    gw = Gateway(runtime)
    gw.auth = FakeAuth()
    return gw


async def test_an_admin_gets_every_live_instance_as_a_prometheus_target_group(gateway):
    async with client(gateway) as c:
        r = await c.get(PATH, headers=ADMIN)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == [
        {"targets": ["127.0.0.1:8000"],
         "labels": {"service": "gateway", "instance": "gateway-1-aa", "version": "1"}},
        {"targets": ["127.0.0.1:41001"],
         "labels": {"service": "orders", "instance": "orders-1-cc", "version": "1"}},
        {"targets": ["127.0.0.1:41002"],
         "labels": {"service": "orders", "instance": "orders-2-bb", "version": "2"}},
    ]


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("customer", 403)])
async def test_the_targets_are_refused_without_an_admin_token(gateway, token, status):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client(gateway) as c:
        r = await c.get(PATH, headers=headers)
    assert r.status_code == status
    assert "127.0.0.1" not in r.text

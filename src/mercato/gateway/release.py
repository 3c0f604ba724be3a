"""Deployments seen and finished from the console (admin):

- ``GET /api/v1/ops/deployments``: per service, the versions its instances run (from the
  registry view), its routing policy (NATS KV, ``chassis/calls/routing.py``: stable,
  canary and weight, or the blue-green active side) and the deployment in progress, if any
  (``<data dir>/run/deployments.json``, written by ``mercato deploy``);
- ``POST /api/v1/ops/deployments/{service}/promote`` and ``.../rollback``: the same steps as
  ``mercato promote / rollback`` (``mercato.operations.deployer``), through the
  supervisor's control socket; the answer lists what was done.

Promote and rollback need ``mercato up``'s control socket, so they work where the gateway
runs beside its supervisor (the embedded default); elsewhere they answer 409 saying so.
One at a time per gateway: a deployment step drains instances for seconds.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from mercato.chassis.calls.routing import open_bucket
from mercato.chassis.runtime import Runtime
from mercato.gateway.errors import Reply
from mercato.gateway.policy import ROUTED_SERVICES
from mercato.operations.control_client import ControlError, socket_path
from mercato.operations.deployer import Deployer, DeployError, in_progress

DEPLOYMENTS_PATH = "/api/v1/ops/deployments"
ACTION = re.compile(r"^/api/v1/ops/deployments/([a-z]{1,30})/(promote|rollback)$")


def routing_table(instances, policies: dict, states: dict) -> list[dict]:
    """One row per service: its instances' versions, its policy, its deployment."""
    rows = []
    for service in ROUTED_SERVICES:
        mine = sorted((i for i in instances if i.service == service),
                      key=lambda i: i.instance_id)
        versions: dict[str, int] = {}
        for i in mine:
            versions[i.version] = versions.get(i.version, 0) + 1
        policy = policies.get(service)
        rows.append({
            "service": service, "versions": versions,
            "instances": [{"instance_id": i.instance_id, "version": i.version,
                           "health": i.health} for i in mine],
            "policy": None if policy is None else {
                "stable": policy.stable, "canary": policy.canary, "weight": policy.weight,
                "active": policy.active},
            "in_progress": states.get(service)})
    return rows


class Deployments:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.data_dir = Path(runtime.settings.data_dir).resolve()
        self._lock = asyncio.Lock()

    async def answer(self, method: str, path: str) -> tuple[int, bytes]:
        if path == DEPLOYMENTS_PATH and method == "GET":
            return 200, json.dumps(self.table()).encode()
        if method == "POST" and (m := ACTION.match(path)):
            return 200, json.dumps(await self.act(m.group(1), m.group(2))).encode()
        raise Reply(404, f"no operations route {method} {path}")

    def table(self) -> dict:
        view = self.runtime.view
        routing = getattr(view, "routing", None)
        return {"items": routing_table(view.all(), routing.policies if routing else {},
                                       in_progress(self.data_dir)),
                "control": socket_path(self.data_dir).exists()}

    async def act(self, service: str, action: str) -> dict:
        if service not in ROUTED_SERVICES:
            raise Reply(404, f"unknown service {service!r}")
        if not socket_path(self.data_dir).exists():
            raise Reply(409, "promote and rollback need `mercato up`'s control socket, which "
                             "this gateway does not have (it runs without the local "
                             "supervisor)")
        if self._lock.locked():
            raise Reply(409, "another promote or rollback is running; try again when it "
                             "has finished", {"Retry-After": "5"})
        done: list[str] = []
        async with self._lock:
            kv = await open_bucket(self.runtime.js)
            deployer = Deployer(self.data_dir, self.runtime.nc, kv, self.runtime.view,
                                done.append)
            try:
                await getattr(deployer, action)(service)
            except DeployError as exc:
                raise Reply(409, str(exc)) from None
            except ControlError as exc:
                raise Reply(503, f"the supervisor did not take the request: {exc}",
                            {"Retry-After": "1"}) from None
        return {"service": service, "action": action, "steps": done}

"""The steps of a deployment on the local supervisor: deploy, promote, rollback
(docs/deployments.md). Run by ``mercato deploy / promote / rollback`` (cli/deploy.py) and by
the console's Promote and Rollback (gateway/release.py), so both behave the same.

New instances are asked of ``mercato up`` through its control socket
(``control_client.py``) with ``MERCATO_VERSION=<version>``; readiness is read from the
registry; traffic is steered by the routing policy in NATS KV (``chassis/calls/routing.py``);
old instances are stopped with SIGTERM, which drains them first. A blue-green or canary
deployment stays "in progress" (``<data dir>/run/deployments.json``) until ``promote`` or
``rollback``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client as Nats
from nats.js.kv import KeyValue

from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.calls.routing import Policy
from mercato.operations.control_client import request, socket_path

SETTLE = 1.0  # seconds for every process's routing view to apply a policy change
Say = Callable[[str], None]


def deployments_file(data_dir: Path) -> Path:
    """Where the deployments in progress are recorded."""
    return Path(data_dir) / "run" / "deployments.json"


def in_progress(data_dir: Path) -> dict:
    """The deployments in progress, by service (empty when none, or unreadable)."""
    try:
        return json.loads(deployments_file(data_dir).read_text())
    except (OSError, ValueError):
        return {}


class DeployError(Exception):
    """The deployment cannot go on; the message says why (exit 1)."""


@dataclass
class Deployer:
    data_dir: Path
    nc: Nats
    kv: KeyValue
    view: RegistryView
    say: Say
    ready_timeout: float = 90.0

    @property
    def _state_path(self) -> Path:
        return deployments_file(self.data_dir)

    def _states(self) -> dict:
        return in_progress(self.data_dir)

    def _record(self, service: str, state: dict | None) -> None:
        states = self._states()
        if state is None:
            states.pop(service, None)
        else:
            states[service] = state
        self._state_path.write_text(json.dumps(states, indent=2))

    async def _call(self, op: str, **args):
        return await request(socket_path(self.data_dir), op, **args)

    async def _current(self, service: str) -> tuple[list[str], str]:
        rows = [r for r in await self._call("list") if r["service"] == service]
        versions = {r["version"] for r in rows}
        if not rows:
            raise DeployError(f"no instance of {service} is running")
        if len(versions) > 1:
            raise DeployError(f"{service} runs versions {', '.join(sorted(versions))} at "
                              "once; finish that deployment first")
        return [r["name"] for r in rows], versions.pop()

    async def _start(self, service: str, version: str, count: int) -> list[str]:
        started = await self._call("start", service=service, version=version, count=count)
        pids = {s["pid"]: s["name"] for s in started}
        self.say(f"started {', '.join(pids.values())} (version {version}); waiting until ready")
        deadline = time.monotonic() + self.ready_timeout
        while True:
            ready = {i.pid for i in self.view.ready(service)}
            if set(pids) <= ready:
                break
            if time.monotonic() > deadline:
                for name in pids.values():
                    await self._stop(name)
                raise DeployError(f"{', '.join(pids.values())} not ready in "
                                  f"{self.ready_timeout:.0f}s; stopped them (see their logs)")
            await asyncio.sleep(0.1)
        self.say(f"ready: {', '.join(pids.values())}")
        return list(pids.values())

    async def _stop(self, name: str) -> None:
        await self._call("stop", name=name)
        self.say(f"drained and stopped {name}")

    async def _route(self, service: str, policy: Policy | None) -> None:
        if policy is None:
            await self.kv.delete(service)
        else:
            await self.kv.put(service, policy.to_json())
        await asyncio.sleep(SETTLE)

    async def deploy(self, service: str, version: str, strategy: str, weight: int) -> None:
        if service in self._states():
            raise DeployError(f"a deployment of {service} is in progress: "
                              f"`mercato promote {service}` or `mercato rollback {service}`")
        old, old_version = await self._current(service)
        if version == old_version:
            raise DeployError(f"{service} already runs version {version}")
        self.say(f"{strategy} deployment of {service}: {old_version} -> {version} "
                 f"({len(old)} instance(s))")
        if strategy == "rolling":
            await self._roll(service, version, old)
            await self._route(service, None)
            self.say(f"done: every {service} instance runs version {version}")
            return
        count = len(old) if strategy == "blue-green" else 1
        new = await self._start(service, version, count)
        state = {"strategy": strategy, "version": version, "old_version": old_version,
                 "old": old, "new": new}
        self._record(service, state)
        if strategy == "blue-green":
            await self._route(service, Policy(stable=old_version, active=version))
            self.say(f"switched: all traffic to {version}; {', '.join(old)} stay up idle")
        else:
            await self._route(service, Policy(stable=old_version, canary=version,
                                              weight=weight))
            self.say(f"canary: {weight}% of traffic (and every X-Canary: always request) "
                     f"to {version}")
        self.say(f"next: `mercato promote {service}` or `mercato rollback {service}`")

    async def _roll(self, service: str, version: str, old: list[str],
                    keep_last: bool = True) -> None:
        for n, name in enumerate(old, 1):
            if keep_last or n < len(old):
                await self._start(service, version, 1)
            await self._stop(name)
            self.say(f"[{n}/{len(old)}] {name} replaced")

    def _in_progress(self, service: str) -> dict:
        state = self._states().get(service)
        if state is None:
            raise DeployError(f"no deployment of {service} is in progress")
        return state

    async def rollback(self, service: str) -> None:
        state = self._in_progress(service)
        await self._route(service, Policy(stable=state["old_version"],
                                          active=state["old_version"]))
        self.say(f"rolled back: all traffic to {state['old_version']}")
        for name in state["new"]:
            await self._stop(name)
        await self._route(service, None)
        self._record(service, None)
        self.say(f"done: {service} runs version {state['old_version']} only")

    async def promote(self, service: str) -> None:
        state = self._in_progress(service)
        if state["strategy"] == "blue-green":
            for name in state["old"]:
                await self._stop(name)
        else:  # canary: every instance takes traffic, then replace the old ones but one
            await self._route(service, None)
            await self._roll(service, state["version"], state["old"], keep_last=False)
        await self._route(service, None)
        self._record(service, None)
        self.say(f"done: every {service} instance runs version {state['version']}")

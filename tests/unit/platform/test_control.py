"""The supervisor's control socket (platform/control.py): numbering and labelling the
instances it starts, refusing to stop what is not a service instance, and answering
requests and refusals on its unix socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mercato.platform.control import Control, ControlError, instance_spec, request
from mercato.platform.supervisor import ProcessSpec


class FakeChild:
    def __init__(self, spec: ProcessSpec, pid: int) -> None:
        self.spec, self.pid, self.running = spec, pid, True


class FakeSupervisor:
    def __init__(self, *names: str) -> None:
        self.children = {}
        self.retired: list[str] = []
        for name in names:
            self.children[name] = FakeChild(spec_for(name, None), 100 + len(self.children))

    async def start(self, spec: ProcessSpec) -> FakeChild:
        child = self.children[spec.name] = FakeChild(spec, 100 + len(self.children))
        return child

    async def retire(self, name: str) -> None:
        self.retired.append(name)
        self.children.pop(name)


def spec_for(name: str, version: str | None) -> ProcessSpec:
    return instance_spec(name, {"X": "1"}, Path("/logs"), 7, version)


def control(*names: str) -> tuple[Control, FakeSupervisor]:
    sup = FakeSupervisor(*names)
    return Control(sup, spec_for, "1"), sup


def test_new_instances_take_the_next_numbers_and_carry_their_version():
    c, sup = control("nats", "catalog-1", "catalog-2", "orders-1", "gateway-1")
    started = asyncio.run(c.handle({"op": "start", "service": "catalog", "version": "2",
                                    "count": 2}))
    assert [s["name"] for s in started] == ["catalog-3", "catalog-4"]
    spec = sup.children["catalog-3"].spec
    assert spec.argv[-4:] == ["serve", "catalog", "--instance", "3"]
    assert spec.env["MERCATO_VERSION"] == "2" and spec.env["X"] == "1"
    listed = {r["name"]: r["version"] for r in c.instances()}
    assert listed == {"catalog-1": "1", "catalog-2": "1", "orders-1": "1",
                      "catalog-3": "2", "catalog-4": "2"}


def test_stop_retires_a_service_instance_and_refuses_anything_else():
    c, sup = control("nats", "catalog-1", "gateway-1")
    assert asyncio.run(c.handle({"op": "stop", "name": "catalog-1"}))["stopped"]
    assert sup.retired == ["catalog-1"]
    for name in ("gateway-1", "nats", "catalog-9"):
        with pytest.raises(ValueError, match="no service instance"):
            asyncio.run(c.handle({"op": "stop", "name": name}))
    with pytest.raises(ValueError, match="unknown op"):
        asyncio.run(c.handle({"op": "reboot"}))
    with pytest.raises(ValueError, match="unknown service"):
        asyncio.run(c.handle({"op": "start", "service": "gateway", "version": "2"}))


def test_processes_lists_every_child_and_the_chaos_broker_kill_finds_nats_there():
    from mercato.chaos.faults import Target, nats_pids
    from mercato.chaos.faults.kills import nats_servers

    c, sup = control("nats-1", "nats-2", "traces", "catalog-1", "gateway-1")
    sup.children["nats-2"].running = False
    listed = asyncio.run(c.handle({"op": "processes"}))
    assert [(p["name"], p["running"]) for p in listed] == [
        ("nats-1", True), ("nats-2", False), ("traces", True), ("catalog-1", True),
        ("gateway-1", True)]

    class Direct(Target):
        async def control(self, op: str, **args):
            return await c.handle({"op": op, **args})

    target = Direct(Path("/unused"), None, 3.0)
    assert asyncio.run(nats_pids(target)) == [sup.children["nats-1"].pid]
    assert asyncio.run(nats_servers(target)) == [("nats-1", sup.children["nats-1"].pid)]


def test_the_socket_answers_requests_and_refusals(tmp_path):
    async def scenario():
        c, _ = control("catalog-1")
        path = tmp_path / "control.sock"
        await c.start(path)
        try:
            listed = await request(path, "list")
            with pytest.raises(ControlError, match="unknown op"):
                await request(path, "reboot")
        finally:
            await c.close()
        with pytest.raises(ControlError, match="cannot reach"):
            await request(path, "list")
        return listed

    assert [r["name"] for r in asyncio.run(scenario())] == ["catalog-1"]


def test_list_says_which_instances_the_registry_has_ready():
    from types import SimpleNamespace

    sup = FakeSupervisor("catalog-1", "catalog-2")
    view = SimpleNamespace(all=lambda: [SimpleNamespace(pid=100, health="ready"),
                                        SimpleNamespace(pid=101, health="unready")])
    c = Control(sup, spec_for, "1", view=view)
    assert {r["name"]: r["ready"] for r in c.instances()} == {"catalog-1": True,
                                                              "catalog-2": False}

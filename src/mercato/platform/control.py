"""The supervisor's control socket: ``mercato up`` listens on ``<data dir>/run/control.sock``
so that other commands (``mercato deploy``...) can add and remove instances of the running
platform without owning the processes.

One JSON object per line each way. Requests: ``{"op": "list"}`` -> every service instance
(name, service, version, pid, running, ready: registered ready); ``{"op":
"processes"}`` -> every supervised process, NATS and the trace store included (name,
pid, running); ``{"op": "start", "service": S, "version": V, "count": N}`` -> the new
instances (``catalog-3``... with ``MERCATO_VERSION=V``);
``{"op": "stop", "name": NAME}`` -> that instance drained (SIGTERM) and stopped for good;
``faults``, ``fault`` and ``heal`` list, set and clear the fault proxies of
``mercato up --fault-proxies`` (docs/chaos.md); ``{"op": "skew", "service": S, "seconds":
N}`` restarts S's instances with their wall clock N seconds off (libfaketime, F11; 0: the
true clock again) -> the restarted instances (name, pid, skew).
Answers: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``.

The client side (``request``) is ``mercato.operations.control_client``, which the gateway's
console routes use too.

Hand-written: a local, single-user line protocol over a unix socket is a few lines on
asyncio's ``start_unix_server``; an RPC framework would add a dependency for three verbs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from mercato.operations.control_client import ControlError, request, socket_path
from mercato.platform.catalog import GATEWAY, SERVICES
from mercato.platform.faults.links import FaultLinks
from mercato.platform.skew import skew_of, skewed_env
from mercato.platform.supervisor import ProcessSpec, Supervisor
from mercato.platform.workload_keys import child_env

__all__ = ["Control", "ControlError", "instance_spec", "request", "socket_path"]

SpecFor = Callable[[str, str], ProcessSpec]  # (process name, version) -> its spec
MAX_INSTANCES = 16


def instance_spec(name: str, env: dict[str, str], logs: Path, gateway_fd: int,
                  version: str | None = None) -> ProcessSpec:
    """The process of one instance (``mercato serve catalog --instance 2``, its own log);
    ``version`` (a deployment's) sets MERCATO_VERSION. The gateway inherits
    ``gateway_fd``, the listening socket ``mercato up`` holds for the platform's lifetime:
    no other process can take the port, and a gateway restarted after a crash finds the
    connections that arrived meanwhile waiting in its backlog."""
    service, _, number = name.rpartition("-")
    argv = [sys.executable, "-m", "mercato", "serve", service, "--instance", number]
    pass_fds: tuple[int, ...] = ()
    if service == GATEWAY:
        argv += ["--fd", str(gateway_fd)]
        pass_fds = (gateway_fd,)
    env = dict(env, **child_env(service, Path(env.get("MERCATO_DATA_DIR") or ".mercato"),
                                mtls=env.get("MERCATO_MTLS") == "1"))  # as up.py sets it
    if version is not None:
        env["MERCATO_VERSION"] = version
    return ProcessSpec(name, argv, env, logs / f"{name}.log", pass_fds=pass_fds)


def split_name(name: str) -> tuple[str, int]:
    service, _, number = name.rpartition("-")
    return service, int(number) if number.isdigit() else 0


class Control:
    """The server side, run by ``mercato up`` next to its supervisor."""

    def __init__(self, sup: Supervisor, spec_for: SpecFor, base_version: str,
                 links: FaultLinks | None = None, view=None) -> None:
        self._sup = sup
        self._view = view  # the registry view: which instances are ready (``list``)
        self._links = links  # `mercato up --fault-proxies`
        self._spec_for = spec_for
        self._base_version = base_version
        self._server: asyncio.AbstractServer | None = None
        self._lock = asyncio.Lock()

    async def start(self, path: Path) -> None:
        _remove(path)  # left by a killed `mercato up` (the up.lock says none runs now)
        self._server = await asyncio.start_unix_server(self._serve, path=str(path))
        os.chmod(path, 0o600)

    async def close(self) -> None:
        if self._server:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    answer = {"ok": True, "result": await self.handle(json.loads(line))}
                except (ValueError, KeyError, TypeError) as exc:
                    answer = {"ok": False, "error": str(exc)}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def handle(self, request: dict):
        op = request.get("op")
        if op == "list":
            return self.instances()
        if op == "processes":  # every child: NATS and the trace store too
            return [{"name": name, "pid": child.pid, "running": child.running}
                    for name, child in self._sup.children.items()]
        if op in ("faults", "fault", "heal"):
            return self._faults(op, request)
        async with self._lock:  # one change at a time: instance numbers stay unique
            if op == "start":
                return await self._start(request["service"], str(request["version"]),
                                         int(request.get("count", 1)))
            if op == "stop":
                return await self._stop(request["name"])
            if op == "skew":
                return await self._skew(request["service"], int(request["seconds"]))
        raise ValueError(f"unknown op {op!r}; one of list, processes, start, stop, faults, "
                         "fault, heal, skew")

    def _faults(self, op: str, request: dict) -> object:
        """The fault proxies: ``faults`` lists them; ``fault`` sets ``set`` (toxics) on
        those matching ``proxy``; ``heal`` clears those matching ``proxy`` (all)."""
        if self._links is None:
            raise ValueError("this platform runs without fault proxies: start it with "
                             "`mercato up --fault-proxies`")
        if op == "faults":
            return self._links.describe()
        if op == "fault":
            if not isinstance(request.get("set"), dict):
                raise ValueError("fault needs 'proxy' (a name or pattern) and 'set' (toxics)")
            return self._links.set(str(request["proxy"]), request["set"])
        return self._links.heal(str(request.get("proxy", "*")))

    def instances(self) -> list[dict]:
        ready = ({i.pid for i in self._view.all() if i.health == "ready"}
                 if self._view is not None else set())
        rows = []
        for name, child in self._sup.children.items():
            service, _ = split_name(name)
            if service in SERVICES:
                rows.append({"name": name, "service": service, "pid": child.pid,
                             "running": child.running, "ready": child.pid in ready,
                             "version": child.spec.env.get("MERCATO_VERSION",
                                                           self._base_version)})
        return rows

    async def _start(self, service: str, version: str, count: int) -> list[dict]:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        if not 1 <= count <= MAX_INSTANCES or not version:
            raise ValueError("count must be 1 to 16 and the version not empty")
        taken = [split_name(n)[1] for n in self._sup.children if split_name(n)[0] == service]
        first = max(taken, default=0) + 1
        started = []
        for number in range(first, first + count):
            child = await self._sup.start(self._spec_for(f"{service}-{number}", version))
            started.append({"name": child.spec.name, "pid": child.pid, "version": version})
        return started

    async def _skew(self, service: str, seconds: int) -> list[dict]:
        """Each running instance of ``service`` restarted (drained first) with its clock
        ``seconds`` off, one after the other so the service stays up meanwhile."""
        names = [n for n in self._sup.children if split_name(n)[0] == service]
        if service not in SERVICES or not names:
            raise ValueError(f"no running service {service!r}")
        restarted = []
        for name in names:
            child = self._sup.children[name]
            spec = replace(child.spec, env=skewed_env(child.spec.env, seconds))
            child = await self._sup.restart(name, spec)
            restarted.append({"name": name, "pid": child.pid, "skew": skew_of(spec.env)})
        return restarted

    async def _stop(self, name: str) -> dict:
        service, _ = split_name(name)
        if name not in self._sup.children or service not in SERVICES:
            raise ValueError(f"no service instance named {name!r}")
        await self._sup.retire(name)
        return {"name": name, "stopped": True}


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

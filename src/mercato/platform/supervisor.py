"""The local supervisor: starts child processes, restarts crashed ones with backoff,
and stops them all in order, leaving nothing behind.

Why by hand: the platform needs asyncio-native supervision that shares the event loop
with registry checks, and a death signal so children never outlive the supervisor;
supervisord/honcho would add a daemon and a config format for ~150 lines of logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    stop_timeout: float = 15.0
    pass_fds: tuple[int, ...] = ()  # open descriptors the child inherits (a listener)


@dataclass
class Child:
    spec: ProcessSpec
    proc: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    task: asyncio.Task | None = None
    replacing: bool = False  # stopped to start again at once with a new spec (restart)
    exits: list[int] = field(default_factory=list)
    retired: bool = False  # stopped on purpose (a deployment): not restarted

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


Notify = Callable[[str], None]


class Supervisor:
    def __init__(self, notify: Notify, *, max_backoff: float = 10.0) -> None:
        self.children: dict[str, Child] = {}
        self._notify = notify
        self._stopping = False
        self._max_backoff = max_backoff

    async def _spawn(self, child: Child) -> None:
        spec = child.spec
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with spec.log_path.open("ab") as log:
            child.proc = await asyncio.create_subprocess_exec(
                *spec.argv, env=spec.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True, preexec_fn=_die_with_parent,
                pass_fds=spec.pass_fds,
            )
        child.started_at = time.monotonic()

    async def start(self, spec: ProcessSpec) -> Child:
        child = Child(spec)
        self.children[spec.name] = child
        await self._spawn(child)
        child.task = asyncio.create_task(self._keep_alive(child), name=f"watch-{spec.name}")
        return child

    async def _keep_alive(self, child: Child) -> None:
        backoff = 0.5
        while True:
            code = await child.proc.wait()
            child.exits.append(code)
            if self._stopping or child.retired:
                return
            if child.replacing:  # asked for: again at once, no crash reported
                child.replacing = False
                await self._spawn(child)
                continue
            if time.monotonic() - child.started_at > 30:
                backoff = 0.5
            self._notify(f"{child.spec.name} exited with {code}; restarting in {backoff:.1f}s "
                         f"(log: {child.spec.log_path})")
            await asyncio.sleep(backoff)
            if self._stopping or child.retired:
                return
            backoff = min(backoff * 2, self._max_backoff)
            child.restarts += 1
            await self._spawn(child)

    async def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a service drains first (deployments); SIGINT: it stops at once,
        finishing its in-flight requests (the whole platform is going away)."""
        child = self.children.get(name)
        if child is None or not child.running:
            return
        with contextlib.suppress(ProcessLookupError):
            child.proc.send_signal(sig)
        try:
            await asyncio.wait_for(child.proc.wait(), child.spec.stop_timeout)
        except TimeoutError:
            self._notify(f"{name} did not stop in {child.spec.stop_timeout:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            await child.proc.wait()

    async def restart(self, name: str, spec: ProcessSpec) -> Child:
        """Stop one child (SIGTERM: a service drains first) and start it again at once
        with ``spec`` (e.g. its clock skewed); returns it once the new process runs."""
        child = self.children[name]
        old = child.proc
        child.spec, child.replacing = spec, child.running  # else: restarted as it is
        await self.stop(name)
        while child.proc is old and not self._stopping:  # noqa: ASYNC110 (_keep_alive spawns)
            await asyncio.sleep(0.05)
        return child

    async def retire(self, name: str) -> None:
        """Stop one child for good (SIGTERM: a service drains first) and forget it."""
        child = self.children.get(name)
        if child is None:
            return
        child.retired = True
        await self.stop(name)
        if child.task:
            child.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await child.task
        self.children.pop(name, None)

    async def stop_all(self, order: list[list[str]]) -> None:
        """Stop groups in order (each group in parallel), then anything left."""
        self._stopping = True
        for group in order:
            await asyncio.gather(*(self.stop(name, signal.SIGINT) for name in group))
        await asyncio.gather(*(self.stop(name, signal.SIGINT) for name in list(self.children)))
        for child in self.children.values():
            if child.task:
                child.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await child.task

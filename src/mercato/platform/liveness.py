"""Liveness checks by ``mercato up``: a child whose ``/health/live`` fails ``failures``
times in a row is killed, and the supervisor restarts it with its usual backoff.

A crashed process is noticed by the supervisor when it exits; a hung one (deadlocked,
stuck in a blocking call, SIGSTOPped) never exits, keeps its registry entry until the
TTL runs out, and holds its port: only asking it finds it. Each child's live URL is
known by pid: the gateway's and the trace store's from the start, a service's from its
registry entry (instances register their pid and address), remembered so that a child
whose entry expired (a hung one stops heartbeating) is still checked. A pid is judged only
once it has answered once, so a process still starting is not killed for being slow.

The kill is SIGKILL to the child's process group: a SIGSTOPped process would never act on
SIGTERM. Defaults: 3 failures in a row, a check every 2 s, each with a 2 s timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from ssl import SSLContext

import aiohttp

from mercato.chassis.calls.registry import RegistryView
from mercato.platform.supervisor import Child, Supervisor

FAILURES = 3
INTERVAL = 2.0
TIMEOUT = 2.0


async def answers_live(url: str, timeout: float, *, every: float = 0.05) -> bool:
    """Whether ``url``'s ``/health/live`` answers 200 within ``timeout`` seconds (asked
    every ``every`` seconds): a child ``mercato up`` starts (the trace store, the card
    provider) being waited for."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url + "/health/live") as r:
                    if r.status == 200:
                        return True
            await asyncio.sleep(every)
    return False


def liveness_failures() -> int:
    """``MERCATO_LIVENESS_FAILURES``: missed checks in a row before a child is killed
    (default 3; 0 turns the checks off, e.g. to hold a process in a debugger)."""
    raw = os.environ.get("MERCATO_LIVENESS_FAILURES", "").strip()
    if not raw:
        return FAILURES
    if not raw.isdigit():
        raise ValueError(f"MERCATO_LIVENESS_FAILURES must be a whole number >= 0, not {raw!r}")
    return int(raw)


class LivenessWatch:
    """Checks every running child's ``/health/live`` and kills the hung ones."""

    def __init__(self, sup: Supervisor, notify: Callable[[str], None], *,
                 failures: int = FAILURES, interval: float = INTERVAL,
                 timeout: float = TIMEOUT) -> None:
        self._sup = sup
        self._notify = notify
        self._failures = failures
        self._interval = interval
        self._timeout = timeout
        self._fixed: dict[str, str] = {}    # child name -> base URL (gateway, trace store)
        self._by_pid: dict[int, str] = {}   # pid -> base URL learned from the registry
        self._answered: set[int] = set()    # pids that have answered once
        self._misses: dict[int, int] = {}
        self._view: RegistryView | None = None
        self._task: asyncio.Task | None = None
        self._http: aiohttp.ClientSession | None = None
        self.ssl: SSLContext | None = None  # mTLS: the supervisor's client certificate

    def know(self, name: str, base_url: str) -> None:
        """The child called ``name`` always answers at ``base_url`` (whatever its pid)."""
        self._fixed[name] = base_url

    def open(self, view: RegistryView | None = None) -> None:
        """Ready to check (``check_once``), learning services' URLs from ``view``."""
        self._view = view
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True,
                                           ssl=self.ssl if self.ssl is not None else True),
            timeout=aiohttp.ClientTimeout(total=self._timeout))

    def start(self, view: RegistryView | None) -> None:
        """Check every ``interval`` seconds from now on (see ``open``)."""
        self.open(view)
        self._task = asyncio.create_task(self._run(), name="liveness")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http:
            await self._http.close()

    async def _run(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self._interval)

    def _learn(self) -> None:
        if self._view is None:
            return
        for instance in self._view.all():
            if instance.pid and instance.address:
                self._by_pid[instance.pid] = instance.address

    async def check_once(self) -> None:
        """One round: every running child with a known URL asked once, concurrently."""
        self._learn()
        targets: list[tuple[Child, str]] = []
        running: set[int] = set()
        for name, child in list(self._sup.children.items()):
            if not child.running or child.retired:
                continue
            running.add(child.pid)
            url = self._fixed.get(name) or self._by_pid.get(child.pid)
            if url:
                targets.append((child, url))
        for table in (self._by_pid, self._misses):  # forget pids that are gone
            for pid in [p for p in table if p not in running]:
                del table[pid]
        self._answered &= running
        await asyncio.gather(*(self._check(child, url) for child, url in targets))

    async def _check(self, child: Child, url: str) -> None:
        pid = child.pid
        try:
            async with self._http.get(url + "/health/live") as r:
                problem = None if r.status == 200 else f"answered {r.status}"
        except TimeoutError:
            problem = f"no answer within {self._timeout:g}s"
        except aiohttp.ClientError as exc:
            problem = f"{type(exc).__name__}"
        if problem is None:
            self._answered.add(pid)
            self._misses.pop(pid, None)
            return
        if pid not in self._answered or child.pid != pid or not child.running:
            return
        self._misses[pid] = self._misses.get(pid, 0) + 1
        if self._misses[pid] >= self._failures:
            self._notify(f"{child.spec.name} (pid {pid}) failed /health/live "
                         f"{self._misses[pid]} times in a row ({problem}); killing it to "
                         "restart it")
            self._misses.pop(pid, None)
            self._answered.discard(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

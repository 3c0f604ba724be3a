"""The background worker every process builds its loops from.

The outbox relay, the order projector, the mail sender, the courier and the reservation
sweeper all do the same thing: run a pass, sleep until the next one is due, wake early when
a commit says there is work (``wakeup``), and ride out a failing pass (a locked database, a
broker outage) by trying again after a backoff, never dying. ``Worker`` is that loop, once;
each of them is only its pass.

A pass returns how long until the next one is wanted: ``None`` for the regular ``poll``,
``0`` to go again at once (a full batch was taken), or a number of seconds (the courier's
next due step). With ``linger``, a worker woken by a burst of commits runs at most once per
``linger`` seconds, taking them together (``pace``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from mercato.chassis.logging import get_logger
from mercato.chassis.tasks import pace, stop_tasks

log = get_logger(__name__)


def doubling(first: float, top: float) -> tuple[float, ...]:
    """Backoff delays from ``first``, doubling up to ``top``: (0.1, 0.2, ..., top)."""
    delays = [first]
    while delays[-1] * 2 < top:
        delays.append(delays[-1] * 2)
    return (*delays, top) if top > first else (first,)


class Worker:
    """Runs ``work`` in a background task until stopped (see the module's docstring)."""

    def __init__(self, name: str, work: Callable[[], Awaitable[float | None]], *,
                 poll: float, wakeup: asyncio.Event | None = None, linger: float = 0.0,
                 backoff: Sequence[float] = doubling(0.1, 5.0), failed: str = "worker_failed",
                 traceback: bool = False) -> None:
        self.name, self.work, self.poll = name, work, poll
        self.wakeup, self.linger, self.backoff = wakeup, linger, tuple(backoff)
        self.failed, self.traceback = failed, traceback
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await stop_tasks([self._task])

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            if self.wakeup is not None:
                self.wakeup.clear()  # before the pass: a commit during it wakes the next
            last_run = loop.time()
            try:
                wait = await self.work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                log.warning(self.failed, worker=self.name, error=str(exc), retry_in=delay,
                            exc_info=self.traceback)
                await asyncio.sleep(delay)
                continue
            failures = 0
            await self._idle(self.poll if wait is None else wait, last_run)

    async def _idle(self, wait: float, last_run: float) -> None:
        if wait <= 0:
            return
        if self.wakeup is None:
            await asyncio.sleep(wait)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.wakeup.wait()
                await pace(last_run, self.linger)


class RunsOnWorker:
    """``start``/``stop``/``running`` for a class whose loop is its ``worker`` (the
    reservation sweeper, the provider reconciler): one home instead of a copy in each."""

    worker: Worker

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    @property
    def running(self) -> bool:
        return self.worker.running

"""Stopping background tasks reliably.

On Python 3.11, ``asyncio.wait_for`` can swallow a cancellation that arrives just as the
awaited thing completes (fixed in 3.12), and libraries use it inside their waits (nats-py's
fetch and KV watch do). A task cancelled once may then run on, and ``await task`` hangs a
shutdown. ``stop_tasks`` cancels again until the tasks end, within a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from mercato.chassis.logging import get_logger

log = get_logger(__name__)


async def stop_tasks(tasks: Iterable[asyncio.Task | None], timeout: float = 3.0) -> None:
    """Cancel ``tasks`` (repeatedly, if a cancellation is swallowed) and wait for them to
    end, for at most ``timeout`` seconds; a task still running then is logged and left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = {t for t in tasks if t is not None and not t.done()}
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=0.2)
    if pending:
        log.warning("tasks_did_not_stop", tasks=sorted(t.get_name() for t in pending))


async def pace(last_run: float, interval: float) -> None:
    """Sleep until ``interval`` seconds (loop time) have passed since ``last_run``.

    For a worker woken by every commit (the projector, the mail sender): after a quiet
    spell it runs at once, and in a burst at most once per ``interval``, taking the work
    of all the commits meanwhile together (one transaction instead of one each)."""
    wait = last_run + interval - asyncio.get_running_loop().time()
    if wait > 0:
        await asyncio.sleep(wait)

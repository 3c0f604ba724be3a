"""The chassis background worker: its pass's answer sets the next wait, a wake-up cuts the
wait short, a failing pass is retried after its backoff, and stop means stopped."""

from __future__ import annotations

import asyncio

from mercato.chassis.worker import Worker, doubling


async def until(condition, within: float = 2.0) -> None:
    for _ in range(int(within / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met in time")


def test_doubling_backoff_stops_at_its_top():
    assert doubling(0.1, 1.0) == (0.1, 0.2, 0.4, 0.8, 1.0)
    assert doubling(0.5, 0.5) == (0.5,)


async def test_a_pass_answering_zero_runs_again_at_once_and_none_waits_for_the_poll():
    runs = []

    async def work():
        runs.append(len(runs))
        return 0 if len(runs) < 3 else None

    worker = Worker("t", work, poll=3600)
    worker.start()
    await until(lambda: len(runs) == 3)
    await asyncio.sleep(0.05)
    await worker.stop()
    assert runs == [0, 1, 2] and not worker.running  # the fourth waits an hour


async def test_a_wakeup_cuts_the_wait_short_and_a_set_during_the_pass_is_not_lost():
    wakeup, runs = asyncio.Event(), []

    async def work():
        runs.append(1)
        if len(runs) == 2:
            wakeup.set()  # a commit while the second pass runs
        return 3600.0

    worker = Worker("t", work, poll=3600, wakeup=wakeup)
    worker.start()
    await until(lambda: len(runs) == 1)
    wakeup.set()
    await until(lambda: len(runs) == 3)
    await worker.stop()


async def test_a_failing_pass_is_retried_after_its_backoff_and_the_worker_lives_on():
    outcomes = [RuntimeError("database is locked"), RuntimeError("again"), None]
    runs = []

    async def work():
        runs.append(asyncio.get_running_loop().time())
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        return None

    worker = Worker("t", work, poll=3600, backoff=(0.05, 0.1))
    worker.start()
    await until(lambda: len(runs) == 3)
    await worker.stop()
    assert runs[1] - runs[0] >= 0.05 and runs[2] - runs[1] >= 0.1

"""The open loop on a fake clock: sessions start at their intended times whether or not
earlier ones finished, and arrivals at the in-flight bound are dropped and counted."""

from __future__ import annotations

import asyncio

from mercato.load.runner import CustomerPool, open_loop
from mercato.load.shopper import Customer
from mercato.load.stats import Stats


class FakeClock:
    """Time that passes only when the loop sleeps: the tasks it started run first (at
    the old time), then time jumps, then they see the new time."""

    def __init__(self) -> None:
        self.now = 100.0
        self.alarms: list[tuple[float, asyncio.Event]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await settle()
        self.now += seconds
        for at, alarm in self.alarms:
            if at <= self.now:
                alarm.set()
        await settle()

    async def until(self, at: float) -> None:
        """Return once the clock has reached ``at`` (a session's work taking time)."""
        alarm = asyncio.Event()
        self.alarms.append((at, alarm))
        await alarm.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_sessions_start_at_their_intended_times_even_when_earlier_ones_hang():
    clock, stats, started = FakeClock(), Stats(), []
    never = asyncio.Event()

    async def launch(i: int, intended: float) -> None:
        started.append((i, intended, clock()))
        await never.wait()  # a platform that does not answer

    starts = [0.5, 1.0, 1.0, 2.5, 4.0]
    tasks = await open_loop(starts, launch, max_in_flight=100, stats=stats, clock=clock,
                            sleep=clock.sleep)
    await settle()
    assert [(i, at) for i, at, _ in started] == [(i, 100 + s) for i, s in enumerate(starts)]
    assert all(now == intended for _, intended, now in started)
    assert stats.sessions["dropped"] == 0 and len(tasks) == 5
    for t in tasks:
        t.cancel()


async def test_arrivals_at_the_in_flight_bound_are_dropped_and_counted():
    clock, stats, started = FakeClock(), Stats(), []

    async def launch(i: int, intended: float) -> None:  # each session lasts 0.9 s
        started.append(i)
        await clock.until(intended + 0.9)

    starts = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    tasks = await open_loop(starts, launch, max_in_flight=2, stats=stats, clock=clock,
                            sleep=clock.sleep)
    # 0 and 0.25 run until 0.9 and 1.15: 0.5 and 0.75 find two in flight; 1.0 and 1.25
    # find a slot freed each; 1.5 and 1.75 find those two still running
    assert started[:2] == [0, 1]
    assert sorted(started) == [0, 1, 4, 5]
    assert stats.sessions["dropped"] == 4
    await clock.sleep(1.0)
    assert not tasks


async def test_a_customer_is_lent_to_one_session_at_a_time():
    pool = CustomerPool([Customer(f"c{i}@x", "pw") for i in range(2)])
    assert await pool.take(1) == 1
    assert await pool.take(1) == 0  # 1 is busy: the other one
    waiting = asyncio.create_task(pool.take(0))
    await settle()
    assert not waiting.done()  # nobody free: the session waits
    await pool.give(1)
    assert await waiting == 1

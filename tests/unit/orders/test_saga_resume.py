"""Crash and resume from any saved state: the process dies before each save of the saga
in turn, and before or after each call to a participant lands; a new runner, built as a
restarted orders process builds it, resumes the stored saga, and the order ends exactly
as it does when nothing dies: same outcome, same published events, same state at the
participants (through the real HTTP adapter and FakeServices)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from mercato.services.orders.adapters.participants import HttpParticipants
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.ports import OrderRepository
from tests.support.memory import MemoryDatabase
from tests.unit.orders.fakes import FakeServices, Killed
from tests.unit.orders.test_saga_deadlines import Rig

SCENARIOS: dict[str, Callable[[FakeServices], object]] = {
    "confirmed": lambda s: None,
    "declined": lambda s: s.fault("authorize", "decline"),
    "capture lost until the deadline": lambda s: s.fault("capture", *["lost"] * 50),
    "reservation expired at commit": lambda s: s.before.update(
        commit=lambda: s.state.update({k: "expired" for k in s.state
                                       if k.startswith("reservation/")})),
    "cancelled after confirmation": lambda s: None,
}
OUTCOMES = {  # what each publishes when nothing dies: (type, reason, refunded)
    "confirmed": [("OrderConfirmed", None, None)],
    "declined": [("OrderCancelled", "payment_declined", False)],
    "capture lost until the deadline": [("OrderCancelled", "payment_unavailable", True)],
    "reservation expired at commit": [("OrderCancelled", "expired", True)],
    "cancelled after confirmation": [("OrderConfirmed", None, None),
                                     ("OrderCancelled", "customer_request", True)],
}


class DyingStore:
    """``store`` that dies (Killed) instead of making its ``at``-th save of a saga: what
    was saved before is all that is left."""

    def __init__(self, store: OrderRepository, at: int) -> None:
        self.store, self.left = store, at

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    async def save_saga(self, tx, saga, at):
        self.left -= 1
        if self.left == 0:
            raise Killed(f"killed at a save of {saga.order_id}")
        return await self.store.save_saga(tx, saga, at)


class DyingServices(FakeServices):
    """Dies at its ``at``-th call, before the request lands or (``landed``) after."""

    def __init__(self, at: int, *, landed: bool) -> None:
        super().__init__()
        self.left, self.landed = at, landed

    async def call(self, service, method, path, **kwargs):
        self.left -= 1
        if self.left == 0 and not self.landed:
            raise Killed("killed before the request landed")
        try:
            return await super().call(service, method, path, **kwargs)
        finally:
            if self.left == 0:  # whatever the answer (or its loss) was
                raise Killed("killed before the answer was read")


@pytest.fixture
async def rig():
    made = Rig(MemoryDatabase(), None)
    yield made
    await made.runner.stop()


async def run_or_resume(rig: Rig, order_id: str, runner: SagaRunner) -> bool:
    """Run the saga; if the process dies, resume it with a fresh runner. True if it died."""
    try:
        await rig.run(order_id, runner)
        return False
    except Killed:
        restarted = rig.new_runner()
        assert await restarted.resume_all() == 1
        await restarted.tasks[order_id]
        return True


async def play(rig: Rig, name: str, services: FakeServices, store: OrderRepository,
               order_id: str) -> tuple[bool, tuple]:
    """One order through scenario ``name``; whether something died, and the end state."""
    SCENARIOS[name](services)
    rig.participants = HttpParticipants(services, step_timeout=1)
    await rig.place(order_id)
    died = await run_or_resume(rig, order_id, rig.new_runner(store=store))
    if name == "cancelled after confirmation":
        await rig.store.request_cancel(order_id)
        died = await run_or_resume(rig, order_id, rig.new_runner(store=store)) or died
    saga, order = await rig.store.get_saga(order_id), await rig.store.get_order(order_id)
    held = {key.split("/")[0]: status for key, status in services.state.items()}
    return died, (order.status.value, order.reason, [h.status.value for h in order.history],
                  saga.phase.value, saga.refunded, await rig.outcome(order_id), held,
                  sorted(services.changes))


@pytest.mark.parametrize("name", SCENARIOS)
async def test_a_crash_before_any_save_resumes_to_the_same_end(rig, name):
    counting = DyingStore(rig.store, 0)  # never dies: counts the saves of a whole run
    _, expected = await play(rig, name, FakeServices(), counting, "reference")
    assert expected[5] == OUTCOMES[name]
    crashes = 0
    for at in itertools.count(1):
        died, end = await play(rig, name, FakeServices(), DyingStore(rig.store, at), f"s{at}")
        assert end == expected, f"died before save {at}"
        if not died:
            break
        crashes += 1
    assert crashes >= -counting.left >= 4  # at least once before each save of the run


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("landed", [False, True], ids=["before landing", "after landing"])
async def test_a_crash_at_any_call_resumes_to_the_same_end(rig, name, landed):
    counting = FakeServices()
    _, expected = await play(rig, name, counting, rig.store, "reference")
    assert expected[5] == OUTCOMES[name]
    crashes = 0
    for at in itertools.count(1):
        services = DyingServices(at, landed=landed)
        died, end = await play(rig, name, services, rig.store, f"c{at}")
        assert end == expected, f"died at call {at}"
        if not died:
            break
        crashes += 1
    assert crashes >= len(counting.calls) > 2  # at least once at each call of the run


async def test_a_deadline_that_passed_while_the_process_was_down_gives_up_on_resume(rig):
    services = FakeServices()
    services.fault("authorize", "kill")
    rig.participants = HttpParticipants(services, step_timeout=1)
    rig.runner = rig.new_runner()
    await rig.place()
    with pytest.raises(Killed):
        await rig.run()
    rig.clock.advance(45)  # the process stays down for 45 s
    restarted = rig.new_runner()
    assert await restarted.resume_all() == 1
    await restarted.tasks["o-1"]
    assert services.calls == ["reserve", "authorize", "void", "release"]  # no 2nd authorize
    assert await rig.outcome() == [("OrderCancelled", "payment_unavailable", False)]

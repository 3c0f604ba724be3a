"""Each forward step of the checkout saga has a deadline on an injected clock: the saga
retries a failing step until then, gives up and compensates after; the confirmation and
the compensations never give up. Driven with fake participants on the in-memory repository
and outbox (``Rig`` runs on a migrated database too: the saga replicas'); time moves only
by the backoffs (and calls) the test says, never by real sleeping."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from mercato.chassis.clock import iso
from mercato.chassis.messaging import Outbox
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.order import Line, Order
from mercato.services.orders.domain.saga import (
    COMPENSATION,
    FORWARD,
    ON_GIVE_UP,
    ON_REJECT,
    CheckoutSaga,
    Step,
)
from mercato.services.orders.ports import OrderRepository, Participants
from tests.support.clock import ManualClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.orders import MemoryOrderRepository
from tests.support.memory.outbox import MemoryOutbox
from tests.unit.orders.fakes import FakeParticipants, envelopes

START = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}
DOWN = Result("transient", "503: provider unavailable")
SILENT = Result("unreachable", "payments is unavailable")
EXPIRED = Result("rejected", "409: reservation expired", reason="expired")
UNTIL_DEADLINE = [DOWN] * 50


class Rig:
    """An orders repository on ``db`` (a ``MemoryDatabase`` or a migrated one) and a saga
    runner over ``participants``. The clock moves only when told; each backoff moves it by
    the whole backoff instead of sleeping."""

    def __init__(self, db, participants, **runner_args) -> None:
        self.db, self.clock = db, ManualClock(START)
        self.participants = participants
        if isinstance(db, MemoryDatabase):
            self.outbox: Outbox = MemoryOutbox(db, "orders", clock=self.clock)
            self.store: OrderRepository = MemoryOrderRepository(db, self.outbox)
        else:
            self.outbox, self.store = Outbox(db, "orders", clock=self.clock), SqlOrderRepository(db)
        self.runner = self.new_runner(**runner_args)

    def new_runner(self, store: OrderRepository | None = None, **runner_args) -> SagaRunner:
        """A runner as a (re)started or second orders process would build it."""
        args = {"backoff": 1.0, "jitter": self.pass_time, **runner_args}
        return SagaRunner(store or self.store, self.participants, self.outbox, self.clock,
                          **args)

    def pass_time(self, cap: float) -> float:
        self.clock.advance(cap)
        return 0.0

    async def place(self, order_id: str = "o-1") -> str:
        now = iso(self.clock())
        placed = Order.place(order_id, "alice", [Line("p1", 2, 1299, "Mug")], "USD",
                             ADDRESS, now)
        async with self.db.transaction() as tx:
            await self.store.append(tx, placed, expected_version=0)
            await self.store.insert_saga(tx, CheckoutSaga(order_id, "tok_ok"), now)
        return order_id

    async def run(self, order_id: str = "o-1", runner: SagaRunner | None = None) -> Order:
        """Run the saga of ``order_id`` until it ends; the order as it is then."""
        runner = runner or self.runner
        runner.start(order_id)
        await runner.tasks[order_id]
        return await self.store.get_order(order_id)

    async def outcome(self, order_id: str = "o-1") -> list[tuple]:
        """(type, reason, refunded) of each event published about the order."""
        return [(e.type, e.payload.get("reason"), e.payload.get("refunded"))
                for e in await envelopes(self.outbox) if e.payload["order_id"] == order_id]


@pytest.fixture
async def rig():
    made = Rig(MemoryDatabase(), FakeParticipants())
    yield made
    await made.runner.stop()


def names(steps) -> list[str]:
    return [str(s) for s in steps]


def undo(steps) -> list[str]:
    return [COMPENSATION[s] for s in reversed(steps)]


def timing(rig: Rig, action: str, takes: float = 0.0) -> list[float]:
    """Seconds since START at which each call of ``action`` began; each takes ``takes``."""
    seen: list[float] = []

    async def hook() -> None:
        seen.append((rig.clock() - START).total_seconds())
        rig.clock.advance(takes)

    rig.participants.hooks[action] = hook
    return seen


@pytest.mark.parametrize("step", FORWARD[:-1])
async def test_a_rejected_step_compensates_only_what_came_before(rig, step):
    rig.participants.answer(str(step), Result("rejected", "409: no"))
    done = await rig.run(await rig.place())
    before = FORWARD[:FORWARD.index(step)]
    assert rig.participants.calls == names([*before, step]) + undo(before)
    assert (done.status.value, done.reason) == ("cancelled", ON_REJECT[step].value)
    assert await rig.outcome() == [("OrderCancelled", ON_REJECT[step].value, False)]


async def test_an_expired_reservation_at_commit_refunds_and_says_so(rig):
    rig.participants.answer("confirm_order", EXPIRED)
    done = await rig.run(await rig.place())
    assert rig.participants.calls == names(FORWARD) + undo(FORWARD[:-1])
    assert (done.status.value, done.reason) == ("cancelled", "expired")
    assert await rig.outcome() == [("OrderCancelled", "expired", True)]


@pytest.mark.parametrize("step", FORWARD[:-1])
@pytest.mark.parametrize("failure", [DOWN, SILENT], ids=["transient", "unreachable"])
async def test_a_step_failing_until_its_deadline_is_given_up_and_undone(rig, step, failure):
    rig.participants.answer(str(step), *[failure] * 50)
    starts = timing(rig, str(step))
    done = await rig.run(await rig.place())
    assert len(starts) > 3 and all(t < 30 for t in starts)
    assert starts[-1] >= 30 - 5  # retried up to the deadline (the backoff is at most 5 s)
    before = FORWARD[:FORWARD.index(step)]
    assert rig.participants.calls == names(before) + [str(step)] * len(starts) + undo(
        [*before, step])  # its outcome is unknown: undone as well
    assert (done.status.value, done.reason) == ("cancelled", ON_GIVE_UP[step].value)
    record = (await rig.store.get_saga("o-1")).record(step)
    assert (record.state, record.attempts) == ("compensated", len(starts))
    assert record.detail.startswith("deadline of 30s passed")
    assert await rig.outcome() == [("OrderCancelled", ON_GIVE_UP[step].value, False)]


async def test_a_deadline_passing_during_the_backoff_gives_up_without_another_call(rig):
    rig.participants.answer("authorize_payment", DOWN)
    rig.runner.jitter = lambda cap: rig.clock.advance(31) or 0.0  # a long pause
    done = await rig.run(await rig.place())
    assert rig.participants.calls == ["reserve_stock", "authorize_payment", "void_payment",
                                      "release_stock"]
    assert done.reason == "payment_unavailable"
    detail = (await rig.store.get_saga("o-1")).record(Step.AUTHORIZE).detail
    assert detail == "deadline of 30s passed before attempt 2"


async def test_a_deadline_passing_during_a_slow_call_gives_up_when_it_answers(rig):
    rig.participants.answer("schedule_shipment", SILENT, SILENT, SILENT)
    starts = timing(rig, "schedule_shipment", takes=12)  # each call times out after 12 s
    done = await rig.run(await rig.place())
    assert starts == [0, 13, 27]  # 12 s calls, 1 s and 2 s backoffs; the 3rd ends at 39
    assert done.reason == "shipping_unavailable"
    assert rig.participants.calls[-3:] == ["cancel_shipment", "void_payment", "release_stock"]


async def test_an_answer_before_the_deadline_is_taken(rig):
    rig.participants.answer("capture_payment", SILENT, SILENT, SILENT, SILENT, SILENT)
    starts = timing(rig, "capture_payment", takes=1)
    done = await rig.run(await rig.place())
    assert starts[-1] < 30 and len(starts) == 6
    assert done.status.value == "confirmed"
    assert await rig.outcome() == [("OrderConfirmed", None, None)]


async def test_the_confirmation_after_capture_is_retried_past_any_deadline(rig):
    rig.participants.answer("confirm_order", *UNTIL_DEADLINE[:20])
    starts = timing(rig, "confirm_order", takes=10)
    done = await rig.run(await rig.place())
    assert starts[-1] > 200 and len(starts) == 21
    assert done.status.value == "confirmed"
    assert "refund_payment" not in rig.participants.calls


async def test_compensations_have_no_deadline_and_keep_backing_off(rig):
    rig.participants.answer("authorize_payment", Result("rejected", "402: declined"))
    rig.participants.answer("release_stock", *[SILENT] * 20)
    starts = timing(rig, "release_stock", takes=10)
    done = await rig.run(await rig.place())
    assert len(starts) == 21 and starts[-1] > 200
    gaps = [b - a - 10 for a, b in pairwise(starts)]
    assert gaps[:5] == [1, 2, 4, 5, 5]  # exponential, capped at 5 s
    assert (done.status.value, done.reason) == ("cancelled", "payment_declined")


async def test_a_deadline_can_be_set_per_step(rig):
    rig.runner = rig.new_runner(deadlines={Step.RESERVE: 5})
    rig.participants.answer("reserve_stock", *UNTIL_DEADLINE)
    starts = timing(rig, "reserve_stock")
    done = await rig.run(await rig.place())
    assert starts == [0, 1, 3]  # then 7 >= 5: given up
    assert (done.status.value, done.reason) == ("cancelled", "expired")


async def test_max_attempts_bounds_answered_failures_before_the_deadline(rig):
    rig.runner = rig.new_runner(max_attempts=3)
    rig.participants.answer("authorize_payment", *UNTIL_DEADLINE)
    done = await rig.run(await rig.place())
    assert rig.participants.calls.count("authorize_payment") == 3
    assert done.reason == "payment_unavailable"


async def test_a_capture_given_up_that_took_no_money_is_not_called_refunded(rig):
    rig.participants.answer("capture_payment", *UNTIL_DEADLINE)
    done = await rig.run(await rig.place())
    assert rig.participants.calls[-4:] == ["refund_payment", "cancel_shipment",
                                           "void_payment", "release_stock"]
    assert await rig.outcome() == [("OrderCancelled", "payment_unavailable", False)]
    assert done.status.value == "cancelled"


def test_the_fake_implements_every_participant_method_with_its_signature():
    wanted = {n: inspect.signature(f) for n, f in vars(Participants).items()
              if inspect.iscoroutinefunction(f)}
    found = {n: inspect.signature(getattr(FakeParticipants, n)) for n in wanted}
    assert len(wanted) == 10 and found == wanted
    public = {n for n, f in vars(FakeParticipants).items()
              if inspect.iscoroutinefunction(f) and not n.startswith("_")}
    assert public == set(wanted)  # and nothing the port does not have

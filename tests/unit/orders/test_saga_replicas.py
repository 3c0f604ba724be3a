"""Two orders replicas sharing one SQLite file may both run one saga. Each save of the saga
row is a compare-and-set on its version: a runner whose read went stale loses its save,
reads again and decides again. A trigger logs every saved version, so the tests can check
that the saved state only ever moves forward."""

from __future__ import annotations

import asyncio
import json
from itertools import pairwise

import pytest

from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.messaging import Outbox
from mercato.services.orders.adapters.participants import HttpParticipants
from mercato.services.orders.adapters.store import SagaConflict, SqlOrderRepository
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.saga import FORWARD
from tests.unit.orders.fakes import FakeParticipants, FakeServices
from tests.unit.orders.test_saga_deadlines import Rig

LOG = """
CREATE TABLE saga_log (n INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER, phase TEXT,
                       step TEXT, state TEXT);
CREATE TRIGGER saga_saved AFTER UPDATE OF version ON sagas BEGIN
  INSERT INTO saga_log (version, phase, step, state)
  VALUES (new.version, new.phase, new.step, new.state);
END;
"""
PHASES = {"forward": 0, "compensating": 1, "confirmed": 1, "refunding": 2, "cancelled": 3}
SETTLED = {"done", "rejected", "compensated"}


class YieldingServices(FakeServices):
    """Lets the other runner in at every call, as a real network call would."""

    async def call(self, *args, **kwargs):
        await asyncio.sleep(0)
        try:
            return await super().call(*args, **kwargs)
        finally:
            await asyncio.sleep(0)


class PausingStore(SqlOrderRepository):
    """Holds its first read of a saga until ``go`` is set: the read goes stale meanwhile."""

    def __init__(self, db) -> None:
        super().__init__(db)
        self.have_read, self.go = asyncio.Event(), asyncio.Event()

    async def get_saga(self, order_id, tx=None):
        saga = await super().get_saga(order_id, tx)
        if not self.go.is_set():
            self.have_read.set()
            await self.go.wait()
        return saga


@pytest.fixture
async def replicas(service_db_for):
    """A rig (replica 1) and a second connection to its database (replica 2's)."""
    db = await service_db_for("orders")
    db._conn.executescript(LOG)
    other = SqliteDatabase(db.path)
    rig = Rig(db, HttpParticipants(YieldingServices(), step_timeout=1))
    runners: list[SagaRunner] = [rig.runner]
    yield rig, other, runners
    for runner in runners:
        await runner.stop()
    await other.close()


def second(rig: Rig, store: SqlOrderRepository, participants, runners: list) -> SagaRunner:
    runner = SagaRunner(store, participants, Outbox(store.db, "orders", clock=rig.clock),
                        rig.clock, backoff=1.0, jitter=rig.pass_time)
    runners.append(runner)
    return runner


async def saved(rig: Rig) -> list[dict]:
    return await rig.db.fetch_all("SELECT version, phase, step, state FROM saga_log ORDER BY n")


def assert_only_forward(log: list[dict]) -> None:
    """Versions follow one another; phase, step, attempts and settled steps never go back."""
    assert [row["version"] for row in log] == list(range(1, len(log) + 1))
    for before, after in pairwise(log):
        assert PHASES[after["phase"]] >= PHASES[before["phase"]]
        if after["phase"] == before["phase"] == "forward":
            assert FORWARD.index(after["step"]) >= FORWARD.index(before["step"])
        was = json.loads(before["state"])["records"]
        now = json.loads(after["state"])["records"]
        for name, record in was.items():
            assert now[name]["attempts"] >= record["attempts"]
            assert record["state"] not in SETTLED or now[name]["state"] in SETTLED


async def test_two_runners_driving_one_saga_end_it_once(replicas):
    rig, other, runners = replicas
    services = rig.participants.commands._client
    twin = second(rig, SqlOrderRepository(other), rig.participants, runners)
    await rig.place()
    rig.runner.start("o-1")
    twin.start("o-1")
    await asyncio.gather(*rig.runner.tasks.values(), *twin.tasks.values())
    assert (await rig.store.get_order("o-1")).status.value == "confirmed"
    assert len(services.calls) > len(FORWARD)  # both acted: some calls were made twice
    assert services.changes == ["reservation reserved", "payment authorized",
                                "shipment scheduled", "payment captured",
                                "reservation committed"]
    assert await rig.outcome() == [("OrderConfirmed", None, None)]
    assert_only_forward(await saved(rig))


async def test_a_runner_holding_a_stale_read_calls_no_participant(replicas):
    rig, other, runners = replicas
    stale_store, late = PausingStore(other), FakeParticipants()
    twin = second(rig, stale_store, late, runners)
    await rig.place()
    twin.start("o-1")
    await stale_store.have_read.wait()  # replica 2 has read the saga at its first step
    await rig.run()  # replica 1 runs it to the end meanwhile
    log = await saved(rig)
    stale_store.go.set()
    await twin.tasks["o-1"]
    assert late.calls == []  # its claim of the step lost: it read again and stopped
    assert await saved(rig) == log  # and it saved nothing
    assert (await rig.store.get_saga("o-1")).phase.value == "confirmed"


@pytest.mark.parametrize("stale", [Result("rejected", "409: out of stock"),
                                   Result("transient", "503: try again")],
                         ids=["refusal", "failure"])
async def test_a_stale_answer_cannot_take_back_a_saga_that_went_on(replicas, stale):
    rig, other, runners = replicas
    slow, asked, answer = FakeParticipants(), asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        asked.set()
        await answer.wait()

    slow.hooks["reserve_stock"] = hold
    slow.answer("reserve_stock", stale)
    twin = second(rig, SqlOrderRepository(other), slow, runners)
    await rig.place()
    twin.start("o-1")
    await asked.wait()  # replica 2 claimed the step and waits for its answer
    await rig.run()  # replica 1 takes over the saga and confirms the order
    answer.set()  # now replica 2 hears its answer, for a step long done
    await twin.tasks["o-1"]
    saga = await rig.store.get_saga("o-1")
    assert (saga.phase.value, saga.reason) == ("confirmed", None)
    assert (await rig.store.get_order("o-1")).status.value == "confirmed"
    assert await rig.outcome() == [("OrderConfirmed", None, None)]
    assert slow.calls == ["reserve_stock"]  # it read again, saw the end, called nothing
    assert_only_forward(await saved(rig))


async def test_a_save_from_a_stale_version_is_refused_and_changes_nothing(replicas):
    rig, other, _ = replicas
    await rig.place()
    mine, theirs = await rig.store.get_saga("o-1"), await SqlOrderRepository(other).get_saga("o-1")
    async with rig.db.transaction() as tx:
        assert await rig.store.save_saga(tx, mine, "t1") == 1
    theirs.reason = "out_of_stock"
    with pytest.raises(SagaConflict):
        async with other.transaction() as tx:
            await SqlOrderRepository(other).save_saga(tx, theirs, "t2")
    after = await rig.store.get_saga("o-1")
    assert (after.version, after.reason) == (1, None)

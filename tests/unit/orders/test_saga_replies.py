"""Late and duplicate replies: the real HTTP adapter of the participants and the saga
runner, against inventory, payments and shipping faked in memory (tests/unit/orders/
fakes.py FakeServices), which act on a request whose answer is lost, or receive it late.
Whatever arrives when, nothing stays held or charged for a cancelled order, and nothing
is done twice."""

from __future__ import annotations

import pytest

from mercato.services.orders.adapters.participants import HttpParticipants
from tests.support.memory import MemoryDatabase
from tests.unit.orders.fakes import FakeServices
from tests.unit.orders.test_saga_deadlines import Rig

FOREVER = 50  # more failures than fit before a 30 s deadline


@pytest.fixture
async def world():
    services = FakeServices()
    rig = Rig(MemoryDatabase(), HttpParticipants(services, step_timeout=1))
    yield rig, services
    await rig.runner.stop()


def held(services: FakeServices) -> dict[str, str]:
    """What each participant holds of the (one) order: its status per kind."""
    return {key.split("/")[0]: status for key, status in services.state.items()}


async def test_a_payment_authorized_after_the_saga_gave_up_is_voided(world):
    rig, services = world
    services.fault("authorize", *["lost"] * FOREVER)  # it lands; its answers never come
    services.fault("void", "lost")  # and the first void's answer is lost too
    done = await rig.run(await rig.place())
    assert (done.status.value, done.reason) == ("cancelled", "payment_unavailable")
    assert held(services) == {"reservation": "released", "payment": "voided"}
    assert services.changes == ["reservation reserved", "payment authorized",
                                "payment voided", "reservation released"]
    assert services.calls.count("void") == 2
    assert await rig.outcome() == [("OrderCancelled", "payment_unavailable", False)]


async def test_a_capture_that_landed_unanswered_is_refunded_and_the_order_says_so(world):
    rig, services = world
    services.fault("capture", *["lost"] * FOREVER)
    done = await rig.run(await rig.place())
    assert (done.status.value, done.reason) == ("cancelled", "payment_unavailable")
    assert held(services) == {"reservation": "released", "payment": "refunded",
                              "shipment": "cancelled"}
    assert services.calls[-4:] == ["refund", "cancel", "void", "release"]
    assert await rig.outcome() == [("OrderCancelled", "payment_unavailable", True)]


async def test_a_capture_landing_after_the_refund_is_found_by_the_void_and_refunded(world):
    rig, services = world
    services.fault("capture", "late", *["down"] * FOREVER)
    services.before["void"] = services.deliver_late  # it lands between refund and void
    done = await rig.run(await rig.place())
    assert done.reason == "payment_unavailable"
    assert services.calls[-5:] == ["refund", "cancel", "void", "refund", "release"]
    assert services.changes[-4:] == ["shipment cancelled", "payment captured",
                                     "payment refunded", "reservation released"]
    assert await rig.outcome() == [("OrderCancelled", "payment_unavailable", True)]


@pytest.mark.parametrize(("action", "kind"), [("authorize", "payment"),
                                              ("reserve", "reservation"),
                                              ("schedule", "shipment")])
async def test_a_request_landing_after_its_undo_meets_a_tombstone(world, action, kind):
    rig, services = world
    services.fault(action, "late", *["down"] * FOREVER)
    done = await rig.run(await rig.place())
    assert done.status.value == "cancelled"
    undone = held(services)[kind]
    services.deliver_late()  # long after the order was cancelled
    assert held(services)[kind] == undone  # still voided / released / cancelled
    # its undo, on nothing, left a tombstone; the late request found it and did nothing
    assert [c for c in services.changes if c.startswith(kind)] == [f"{kind} {undone}"]


async def test_a_retried_step_that_had_succeeded_acts_once(world):
    rig, services = world
    for action in ("reserve", "authorize", "schedule", "capture", "commit"):
        services.fault(action, "lost")  # each lands, its first answer is lost, it is retried
    done = await rig.run(await rig.place())
    assert done.status.value == "confirmed"
    assert services.calls == ["reserve", "reserve", "authorize", "authorize", "schedule",
                              "schedule", "capture", "capture", "commit", "commit"]
    assert services.changes == ["reservation reserved", "payment authorized",
                                "shipment scheduled", "payment captured",
                                "reservation committed"]
    assert await rig.outcome() == [("OrderConfirmed", None, None)]


async def test_a_refund_after_a_customer_cancel_whose_answer_was_lost_refunds_once(world):
    rig, services = world
    await rig.run(await rig.place())
    services.fault("refund", "lost", "error")
    services.fault("return", "down")
    await rig.store.request_cancel("o-1")
    done = await rig.run()
    assert (done.status.value, done.reason) == ("cancelled", "customer_request")
    assert services.calls[-6:] == ["refund", "refund", "refund", "cancel", "return",
                                   "return"]
    assert services.changes[-3:] == ["payment refunded", "shipment cancelled",
                                     "reservation returned"]
    assert await rig.outcome() == [("OrderConfirmed", None, None),
                                   ("OrderCancelled", "customer_request", True)]


async def test_an_expired_reservation_at_commit_refunds_the_captured_payment(world):
    rig, services = world

    def expire() -> None:
        (key,) = [k for k in services.state if k.startswith("reservation/")]
        services.state[key] = "expired"

    services.before["commit"] = expire
    done = await rig.run(await rig.place())
    assert (done.status.value, done.reason) == ("cancelled", "expired")
    assert held(services) == {"reservation": "released", "payment": "refunded",
                              "shipment": "cancelled"}
    assert await rig.outcome() == [("OrderCancelled", "expired", True)]

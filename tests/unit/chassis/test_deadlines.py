"""A caller's deadline travels with its request (X-Mercato-Deadline): a service refuses,
before any work, a request that reached it after its caller stopped waiting; the service
client and the gateway send each attempt's own deadline."""

from __future__ import annotations

import contextlib
import time

import pytest
from aiohttp import web
from fastapi import APIRouter

from mercato.chassis import create_service
from mercato.chassis.calls.client import ServiceClient
from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.resilience import CallPolicy
from mercato.chassis.context import PROCESS, CallerClocks, deadline_in, deadline_passed
from mercato.gateway.proxy import Upstreams
from tests.support.service_http import WORKLOAD_KEYS, bearer, client, service_runtime


@pytest.mark.parametrize(("value", "now", "late"), [
    (b"1000.500", 1000.0, None),  # still to come
    (b"1000.000", 1000.0, None),  # exactly now: not passed yet
    (b"999.750", 1000.0, 0.25),
    ("990", 1000.0, 10.0),
    (None, 1000.0, None), (b"", 1000.0, None), (b"soon", 1000.0, None),  # ignored
])
def test_how_long_ago_a_deadline_passed(value, now, late):
    assert deadline_passed(value, now) == late


def test_a_deadline_is_the_time_the_caller_stops_waiting_by_its_clock_sent_when_and_by_whom():
    assert deadline_in(2.5, 1000.0) == f"1002.500;sent=1000.000;by={PROCESS}"
    assert deadline_passed(deadline_in(2.5, 1000.0), 1003.0) == 0.5


def test_a_callers_clock_minutes_off_is_read_on_ours_and_a_backlog_still_counts():
    """F11: a caller 300 s ahead (or behind) of us; its requests are not late for that,
    while one that waited in a backlog past its deadline still is."""
    for skew in (300.0, -300.0):
        clocks = CallerClocks()
        ours = 5000.0
        for _ in range(3):  # quick ones: 10 ms in transit, 2 s budget
            ours += 1.0
            quick = deadline_in(2.0, ours + skew)
            assert clocks.late(quick, ours + 0.01) is None
            # read as is, the clocks' disagreement decided: all refused from behind
            assert (deadline_passed(quick, ours + 0.01) is not None) == (skew < 0)
        stuck = deadline_in(2.0, ours + skew)  # this one waits 3 s before it is read
        assert clocks.late(stuck, ours + 3.01) == pytest.approx(1.0)


def test_a_restarted_caller_with_another_clock_is_measured_afresh():
    clocks = CallerClocks()
    assert clocks.late("1002.000;sent=1000.000;by=a", 1000.01) is None
    # the same host's process restarted 300 s behind: a new id, a new estimate
    assert clocks.late("702.000;sent=700.000;by=b", 1000.02) is None
    assert clocks.late("703.000;sent=701.000;by=b", 1001.02) is None


@pytest.fixture
def app(tmp_path):
    handled = []
    router = APIRouter()

    @router.post("/work")
    async def work() -> dict:
        handled.append(1)
        return {"done": True}

    service = create_service(service_runtime("catalog", tmp_path), routers=[router],
                             migrations_dir=None)
    service.state.handled = handled
    return service


async def test_a_request_whose_caller_stopped_waiting_is_refused_before_any_work(app):
    as_orders = bearer(WORKLOAD_KEYS.identity("orders").token("catalog"))
    async with client(app, headers=as_orders) as c:
        late = await c.post("/work", headers={"X-Mercato-Deadline": f"{time.time() - 2:.3f}"})
        in_time = await c.post("/work", headers={"X-Mercato-Deadline": f"{time.time() + 5:.3f}"})
        without = await c.post("/work")
    assert late.status_code == 503
    assert late.headers["content-type"] == "application/problem+json"
    assert late.headers["retry-after"] == "1" and late.headers["x-request-id"]
    detail = late.json()["detail"]
    assert "stopped waiting" in detail and "nothing was done" in detail
    assert (in_time.status_code, without.status_code) == (200, 200)
    assert app.state.handled == [1, 1]  # the late one never reached the route


class OneInstance:
    routing = None

    def __init__(self, address: str) -> None:
        self.instance = Instance("catalog", "catalog-1", address, "1", health="ready")

    def ready(self, service):
        return [self.instance]

    def all(self):
        return [self.instance]


@contextlib.asynccontextmanager
async def recording_server():
    """A real HTTP server on a free port that notes when each request came and the
    deadline it carried."""
    seen: list[tuple[float, list[str]]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((time.time(), request.headers.getall("X-Mercato-Deadline", [])))
        return web.json_response({})

    server = web.Application()
    server.router.add_route("*", "/x", record)
    runner = web.AppRunner(server)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield OneInstance(f"http://127.0.0.1:{runner.addresses[0][1]}"), seen
    finally:
        await runner.cleanup()


async def test_the_service_client_sends_each_attempts_deadline(tmp_path):
    async with recording_server() as (view, seen):
        sc = ServiceClient(view, service_runtime("orders", tmp_path).identity)
        await sc.start()
        try:
            await sc.call("catalog", "GET", "/x", timeout=3.0)
        finally:
            await sc.close()
    (received, [deadline]), = seen
    # the header carries milliseconds: rounded up, it may pass 3 s by half of one
    assert 1.0 < float(deadline.split(";")[0]) - received <= 3.0005  # 3 s from sending


async def test_the_gateway_sends_its_own_deadline_never_the_clients():
    async with recording_server() as (view, seen):
        upstreams = Upstreams(view, CallPolicy(total_timeout=4.0))
        await upstreams.start()
        try:
            status, _, _ = await upstreams.forward(
                "catalog", "GET", "/x", [(b"x-mercato-deadline", b"1.0")], b"", True)
        finally:
            await upstreams.close()
    assert status == 200
    (received, [deadline]), = seen  # one header: the client's was dropped
    # milliseconds, as above
    assert 2.0 < float(deadline.split(";")[0]) - received <= 4.0005  # 4 s from sending

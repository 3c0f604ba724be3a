"""mercato up starts NATS, the trace store and the card provider together: their ports are
chosen before any of them listens (so never one another's), and the three are waited for
at once, the first failure stopping the wait for the others."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mercato.platform.liveness import answers_live
from mercato.platform.nats_server import STANDARD_PORT
from mercato.platform.provider_up import URL_VARIABLE, provider_plan
from mercato.platform.trace_store_up import trace_plan
from mercato.platform.up import all_of


def test_the_store_and_the_provider_get_free_ports_not_among_those_already_chosen(tmp_path):
    plan = trace_plan({}, tmp_path, avoid=frozenset({1}))
    store_port = int(plan.url.rpartition(":")[2])
    assert plan.spec is not None and str(store_port) in plan.spec.argv
    assert plan.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == plan.url
    env, url, spec = provider_plan(plan.env, tmp_path, avoid=frozenset({store_port}))
    assert spec is not None and env[URL_VARIABLE] == url
    assert int(url.rpartition(":")[2]) not in (store_port, STANDARD_PORT)
    assert spec.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == plan.url  # the provider exports too


def test_a_port_to_avoid_is_never_chosen(tmp_path, monkeypatch):
    picks = iter([7001, 7002, 7003])

    class Socket:
        def __init__(self, *_):
            self.port = next(picks)

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def bind(self, _):
            pass

        def getsockname(self):
            return ("127.0.0.1", self.port)

    monkeypatch.setattr("mercato.platform.nats_server.socket.socket", Socket)
    plan = trace_plan({}, tmp_path, avoid=frozenset({7001, 7002}))
    assert plan.url.endswith(":7003")


def test_nothing_is_planned_to_start_when_tracing_is_off_or_the_provider_is_the_users(tmp_path):
    plan = trace_plan({"OTEL_SDK_DISABLED": "true"}, tmp_path)
    assert (plan.url, plan.spec) == (None, None)
    env, url, spec = provider_plan({URL_VARIABLE: "http://psp:1"}, tmp_path)
    assert (env[URL_VARIABLE], url, spec) == ("http://psp:1", "http://psp:1", None)


async def test_all_of_waits_for_every_step():
    done = []

    async def step(name, delay):
        await asyncio.sleep(delay)
        done.append(name)

    await all_of(step("nats", 0.02), step("traces", 0.01), step("provider", 0))
    assert sorted(done) == ["nats", "provider", "traces"]


async def test_the_first_failure_is_raised_as_is_and_the_other_steps_are_cancelled():
    cancelled = asyncio.Event()

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fails():
        raise TimeoutError("NATS did not listen")

    with pytest.raises(TimeoutError, match="NATS did not listen"):
        await all_of(slow(), fails())
    assert cancelled.is_set()


async def test_answers_live_until_the_health_route_says_200():
    calls = []

    async def live(_request):
        calls.append(1)
        return web.Response(status=200 if len(calls) >= 3 else 503)

    app = web.Application()
    app.router.add_get("/health/live", live)
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        assert await answers_live(url, 5, every=0.01)
        assert len(calls) == 3
        assert not await answers_live("http://127.0.0.1:9", 0.2, every=0.05)

"""mercato up's liveness checks: a child that answered once and then stops answering
/health/live is killed after N failures in a row (and said so); one still starting is
left alone; the trace store's process and environment."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mercato.platform.liveness import LivenessWatch, liveness_failures
from mercato.platform.supervisor import Child, ProcessSpec
from mercato.platform.trace_store_up import (
    exporter_env,
    external_endpoint,
    trace_plan,
    trace_store_spec,
)


class FakeSupervisor:
    def __init__(self, **children: Child) -> None:
        self.children = children


class RunningChild(Child):
    """A child whose process is a real ``sleep`` in its own session (the kill is real)."""

    def __init__(self, name: str) -> None:
        super().__init__(ProcessSpec(name, [], {}, Path("/dev/null")))
        self.popen = subprocess.Popen(["sleep", "60"], start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None


@pytest.fixture
async def switchable():
    """A /health/live that answers 200 until ``state["hung"]``, then never answers."""
    state = {"hung": False}

    async def live(_request):
        if state["hung"]:
            await asyncio.sleep(30)
        return web.json_response({"status": "live"})

    app = web.Application()
    app.router.add_get("/health/live", live)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), state
    await server.close()


@pytest.fixture
def child():
    c = RunningChild("catalog-1")
    yield c
    if c.running:
        c.popen.kill()
    c.popen.wait()


async def test_a_child_that_stops_answering_is_killed_after_three_failures(switchable, child):
    url, state = switchable
    said: list[str] = []
    watch = LivenessWatch(FakeSupervisor(**{"catalog-1": child}), said.append,
                          failures=3, timeout=0.2)
    watch.know("catalog-1", url)
    watch.open()  # rounds are driven by hand below (start() runs one every interval)
    try:
        await watch.check_once()  # answered: now it is judged
        state["hung"] = True
        await watch.check_once()
        await watch.check_once()
        assert child.running and said == []  # two failures: not yet
        await watch.check_once()
        assert await asyncio.to_thread(child.popen.wait, 10) == -9
        assert said == [f"catalog-1 (pid {child.pid}) failed /health/live 3 times in a row "
                        "(no answer within 0.2s); killing it to restart it"]
    finally:
        await watch.stop()


async def test_a_child_that_never_answered_is_left_alone_while_it_starts(child):
    from tests.system.platform import free_port

    said: list[str] = []
    watch = LivenessWatch(FakeSupervisor(**{"catalog-1": child}), said.append,
                          failures=1, timeout=0.2)
    watch.know("catalog-1", f"http://127.0.0.1:{free_port()}")  # nobody listens
    watch.open()
    try:
        for _ in range(3):
            await watch.check_once()
    finally:
        await watch.stop()
    assert child.running and said == []


def test_the_trace_store_runs_without_exporter_settings_and_points_others_at_it(tmp_path):
    env = {"PATH": "/bin", "OTEL_EXPORTER_OTLP_HEADERS": "x=1", "OTEL_BSP_SCHEDULE_DELAY": "50"}
    spec = trace_store_spec(4318, env, tmp_path)
    assert spec.name == "traces" and spec.argv[-4:] == ["serve", "traces", "--port", "4318"]
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in spec.env
    assert spec.log_path == tmp_path / "traces.log"
    out = exporter_env(env, "http://127.0.0.1:4318")
    assert out["OTEL_EXPORTER_OTLP_ENDPOINT"] == out["MERCATO_TRACE_STORE_URL"] == (
        "http://127.0.0.1:4318")
    assert out["OTEL_BSP_SCHEDULE_DELAY"] == "50"  # the user's choice is kept
    assert exporter_env({}, "http://x")["OTEL_BSP_SCHEDULE_DELAY"] == "500"


def test_an_endpoint_set_by_the_user_means_no_embedded_store():
    assert external_endpoint({}) is None
    assert external_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == "http://c:4318"
    assert external_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                              "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/v1/traces"}
                             ) == "http://t/v1/traces"


@pytest.mark.parametrize(("env", "line"), [
    ({"OTEL_SDK_DISABLED": "TRUE"}, "off (OTEL_SDK_DISABLED=true)"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "exported to http://c:4318"),
])
def test_no_store_is_started_when_tracing_is_off_or_goes_elsewhere(tmp_path, env, line):
    plan = trace_plan(env, tmp_path)
    assert (plan.env, plan.url, plan.line, plan.spec) == (env, None, line, None)


def test_the_number_of_missed_checks_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("MERCATO_LIVENESS_FAILURES", raising=False)
    assert liveness_failures() == 3
    monkeypatch.setenv("MERCATO_LIVENESS_FAILURES", "0")
    assert liveness_failures() == 0  # off
    monkeypatch.setenv("MERCATO_LIVENESS_FAILURES", "many")
    with pytest.raises(ValueError, match="MERCATO_LIVENESS_FAILURES must be a whole number"):
        liveness_failures()

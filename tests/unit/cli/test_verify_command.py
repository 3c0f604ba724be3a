"""`mercato verify` around the checks: reading the facts (services, then orders, then the
broker), re-checking until idle, the service secret, and what it prints."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mercato.chassis.calls.client import Reply, Unavailable
from mercato.chassis.settings import load_settings
from mercato.cli.invariants import PUBLISHERS, Check, Facts
from mercato.cli.main import app
from mercato.cli.verify import as_json_text, check_until, gather, report, see_services
from mercato.platform.running import NotRunning, cli_identity
from mercato.platform.workload_keys import ensure_workload_keys
from tests.unit.cli.test_verify_checks import settled


class FakeClient:
    """Answers GET /internal/facts per service from a table; records the order of calls."""

    def __init__(self, answers: dict) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def call(self, service, method, path, **_):
        assert (method, path) == ("GET", "/internal/facts")
        self.calls.append(service)
        answer = self.answers[service]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return Reply(status, json.dumps(body).encode(), {})


def consumer(name: str | None, pending: int, unacked: int):
    return SimpleNamespace(name=name or "ephemeral-x", num_pending=pending,
                           num_ack_pending=unacked,
                           config=SimpleNamespace(durable_name=name))


def stream(name: str, messages: int = 0):
    return SimpleNamespace(config=SimpleNamespace(name=name),
                           state=SimpleNamespace(messages=messages))


class FakeJetStream:
    def __init__(self, streams, consumers, fail: Exception | None = None) -> None:
        self.streams, self.consumers, self.fail = streams, consumers, fail

    async def streams_info(self):
        if self.fail:
            raise self.fail
        return self.streams

    async def consumers_info(self, name):
        return self.consumers.get(name, [])


def answers_from(facts: Facts) -> dict:
    return {s: (200, body) for s, body in facts.services.items()}


def test_gather_asks_every_publisher_orders_last_and_reads_durable_consumers():
    client = FakeClient(answers_from(settled()))
    js = FakeJetStream(
        [stream("MERCATO_ORDERS"), stream("MERCATO_DLQ", messages=4),
         stream("KV_mercato_registry")],
        {"MERCATO_ORDERS": [consumer("cart__orders", 2, 1), consumer(None, 9, 9)],
         "KV_mercato_registry": [consumer("watcher", 5, 5)]})
    facts = asyncio.run(gather(client, js))
    assert sorted(client.calls) == sorted(PUBLISHERS)
    assert client.calls[-1] == "orders"  # after every participant
    assert facts.services == settled().services and facts.missing == {}
    assert facts.consumers == [{"stream": "MERCATO_ORDERS", "consumer": "cart__orders",
                                "num_pending": 2, "num_ack_pending": 1}]
    assert facts.dead_letters == 4


def test_gather_records_why_a_service_gave_no_facts():
    answers = answers_from(settled())
    answers["shipping"] = Unavailable("shipping", "no ready instance is registered")
    answers["payments"] = (500, {"detail": "an internal error occurred"})
    facts = asyncio.run(gather(FakeClient(answers), FakeJetStream([], {},
                                                                  fail=TimeoutError())))
    assert "shipping" not in facts.services and "payments" not in facts.services
    assert facts.missing == {"shipping": "no ready instance is registered",
                             "payments": "answered 500: an internal error occurred"}
    assert facts.consumers is None and facts.broker_error == "TimeoutError"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def stuck_then_settled(rounds_stuck: int):
    reads = []

    async def read() -> Facts:
        facts = settled()
        if len(reads) < rounds_stuck:
            facts.services["orders"]["unfinished_saga_ids"] = ["D"]
        reads.append(facts)
        return facts
    return read, reads


def test_wait_idle_rechecks_until_every_invariant_holds():
    clock = Clock()
    read, reads = stuck_then_settled(3)
    checks, waited = asyncio.run(check_until(read, 30, clock=clock, sleep=clock.sleep))
    assert all(c.ok for c in checks)
    assert len(reads) == 4
    assert waited == 3.0


def test_wait_idle_gives_up_when_the_time_is_up_with_the_last_violations():
    clock = Clock()
    read, reads = stuck_then_settled(100)
    checks, waited = asyncio.run(check_until(read, 2.5, clock=clock, sleep=clock.sleep))
    assert [c.number for c in checks if not c.ok] == [5]
    assert len(reads) == 4  # at 0, 1, 2 and 2.5 s
    assert waited == 2.5


def test_without_wait_idle_it_checks_once():
    clock = Clock()
    read, reads = stuck_then_settled(100)
    checks, _ = asyncio.run(check_until(read, 0, clock=clock, sleep=clock.sleep))
    assert len(reads) == 1 and not all(c.ok for c in checks)


def test_the_cli_acts_with_its_own_key_from_the_data_dir(tmp_path, monkeypatch):
    for name in ("MERCATO_SERVICE_KEY_FILE", "MERCATO_SERVICE_JWKS_FILE"):
        monkeypatch.delenv(name, raising=False)
    ensure_workload_keys(tmp_path)
    identity = cli_identity(load_settings(data_dir=tmp_path))
    assert identity.service == "cli"


def test_no_keys_in_the_data_dir_is_a_clear_error(tmp_path, monkeypatch):
    for name in ("MERCATO_SERVICE_KEY_FILE", "MERCATO_SERVICE_JWKS_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(NotRunning, match="cli has no service key"):
        cli_identity(load_settings(data_dir=tmp_path))


def test_verify_on_a_stopped_platform_says_so_and_exits_1(tmp_path):
    result = CliRunner().invoke(app, ["verify", "--wait-idle", "1"],
                                env={"MERCATO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "is not running" in result.output


def test_the_report_names_each_invariant_with_its_figures_and_violations():
    checks = [Check(1, "stock conserved", True, "1 products: on_hand 3"),
              Check(5, "nothing stuck", False, "7 pending orders",
                    [f"order D{n}: pending" for n in range(5)], 7)]
    console = Console(record=True, width=200)
    report(checks, 4.2, console)
    lines = console.export_text().splitlines()
    assert lines[0] == "ok   1. stock conserved: 1 products: on_hand 3"
    assert lines[1] == "FAIL 5. nothing stuck: 7 pending orders"
    assert lines[2].strip() == "- order D0: pending"
    assert lines[7].strip() == "... and 2 more"
    assert lines[8] == "1 of 2 invariants violated (after waiting 4.2s)"


def test_the_json_output_carries_every_check():
    checks = [Check(4, "no order charged twice", False, "1 orders charged",
                    ["order A: 2 captured payments"], 1)]
    out = json.loads(as_json_text(checks, 0.0))
    assert out == {"ok": False, "waited": 0.0, "checks": [
        {"number": 4, "name": "no order charged twice", "ok": False,
         "figures": "1 orders charged", "violations": ["order A: 2 captured payments"],
         "count": 1}]}


class FillingView:
    """A registry view that lists one more service each time it is polled."""

    def __init__(self, services: list[str]) -> None:
        self.services, self.seen = services, 0

    def ready(self, service: str) -> list[str]:
        self.seen += 1
        known = self.services[: self.seen // 4]
        return [service] if service in known else []


def test_verify_waits_for_its_fresh_registry_view_to_list_every_service():
    wanted = ["catalog", "identity", "inventory", "loyalty", "payments", "shipping", "orders"]
    clock = Clock()
    missing = asyncio.run(see_services(FillingView(wanted), 15, clock=clock,
                                       sleep=clock.sleep))
    assert missing == [] and 0 < clock.now < 15


def test_a_service_missing_from_the_registry_is_waited_for_a_bounded_time_then_named():
    clock = Clock()
    view = SimpleNamespace(ready=lambda s: [] if s == "payments" else [s])
    missing = asyncio.run(see_services(view, 3, clock=clock, sleep=clock.sleep))
    assert missing == ["payments"] and 3 <= clock.now < 3.5

"""The operator's commands in the audit trail (platform/audit.py): one entry of the gateway's
shape on the CLI's own subject, and a broker that does not take it never fails the command."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mercato.gateway.audit import AUDIT_STREAM, DETAIL_CHARS
from mercato.platform.audit import cli_entry, record


class Broker:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.published: list[tuple[str, dict, str]] = []

    async def publish(self, subject, data, *, stream, timeout):
        if self.fails:
            raise TimeoutError
        self.published.append((subject, json.loads(data), stream))


def test_an_entry_names_the_command_its_exit_code_and_the_account_that_ran_it():
    at = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    entry = cli_entry("mercato dlq replay 4", 1, "no such dead letter", clock=lambda: at)
    assert entry["at"].startswith("2026-12-05T10:00:00")
    assert entry["method"] == "CLI" and entry["path"] == "mercato dlq replay 4"
    assert entry["status"] == 1 and entry["detail"] == "no such dead letter"
    assert entry["actor"].startswith("operator:") and "@" in entry["actor"]
    assert entry["address"] == "local"
    long = cli_entry("mercato deploy orders", 0, "x" * (DETAIL_CHARS + 50))["detail"]
    assert len(long) == DETAIL_CHARS + 1 and long.endswith("…")


async def test_the_entry_goes_to_the_audit_stream_on_the_operators_subject():
    broker, said = Broker(), []
    assert await record(broker, "mercato keys rotate", 0, "new key k2", said.append)
    [(subject, entry, stream)] = broker.published
    assert (subject, stream) == ("audit.cli", AUDIT_STREAM)
    assert entry["path"] == "mercato keys rotate" and entry["detail"] == "new key k2"
    assert said == []


async def test_a_broker_that_refuses_the_entry_is_said_and_the_command_goes_on():
    said: list[str] = []
    assert not await record(Broker(fails=True), "mercato rollback orders", 0, "", said.append)
    assert said == ["warning: not recorded in the audit trail (TimeoutError): "
                    "mercato rollback orders"]

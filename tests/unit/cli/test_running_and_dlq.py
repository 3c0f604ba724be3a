"""How the commands find the running platform, and the dead-letter table."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mercato.chassis.messaging import DeadLetter
from mercato.cli.dlq import COLUMNS, dead_letter_table
from mercato.cli.main import app

runner = CliRunner()


def write_state(data_dir, text: str) -> None:
    (data_dir / "run").mkdir(parents=True, exist_ok=True)
    (data_dir / "run" / "state.json").write_text(text)


@pytest.mark.parametrize("args", [["dlq", "list"], ["dlq", "replay", "3"],
                                  ["events", "tail"], ["status"]])
def test_every_command_on_a_stopped_platform_says_so_and_exits_1(tmp_path, args):
    result = runner.invoke(app, args, env={"MERCATO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "is not running" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unreachable_broker_is_one_clear_line(tmp_path):
    write_state(tmp_path, json.dumps({"nats_url": "nats://127.0.0.1:1"}))
    result = runner.invoke(app, ["dlq", "list"], env={"MERCATO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "cannot connect to NATS at nats://127.0.0.1:1" in result.output
    assert "Traceback" not in result.output


def test_a_replay_needs_a_numeric_sequence():
    result = runner.invoke(app, ["dlq", "replay", "first"])
    assert result.exit_code == 2


def test_the_dead_letter_table_shows_every_column_and_keeps_ids_whole():
    letter = DeadLetter(seq=12, consumer="notifications__order_outcomes",
                        subject="mercato.orders.OrderConfirmed",
                        event_id="3f2b1c9e-6c1d-4b0e-9a57-5e0d7f1c2a00",
                        event_type="OrderConfirmed", error="RuntimeError: " + "smtp down " * 20,
                        attempts=5, failed_at="2026-11-21T10:00:00.000001Z", data=b"{}")
    console = Console(width=160, record=True)
    console.print(dead_letter_table([letter], "Dead letters"))
    text = console.export_text()
    header = next(line for line in text.splitlines() if "seq" in line)
    assert [h.strip() for h in header.strip("┃ \n").split("┃")] == list(COLUMNS)
    row = next(line for line in text.splitlines() if letter.event_id in line)
    for value in ("12", letter.consumer, "OrderConfirmed", "5", letter.failed_at):
        assert value in row
    assert "smtp down" in text

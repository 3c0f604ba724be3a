"""`mercato deploy / rollback / promote`: argument validation (exit 2, naming the problem)
before anything is contacted. (The supervisor's control socket that deployments drive:
tests/unit/platform/test_control.py.)"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mercato.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(("args", "named"), [
    (["deploy", "nope", "--version", "2"], "unknown service 'nope'"),
    (["deploy", "gateway", "--version", "2"], "unknown service 'gateway'"),
    (["deploy", "catalog", "--version", "2", "--strategy", "red-black"],
     "unknown strategy 'red-black'"),
    (["deploy", "catalog", "--version", "2", "--strategy", "canary", "--weight", "0"],
     "--weight 0"),
    (["deploy", "catalog", "--version", "2", "--strategy", "canary", "--weight", "100"],
     "--weight 100"),
    (["deploy", "catalog", "--version", "2", "--weight", "10"],
     "--weight is for --strategy canary only"),
    (["deploy", "catalog", "--version", "two words"], "version 'two words'"),
    (["rollback", "nope"], "unknown service 'nope'"),
    (["promote", "nope"], "unknown service 'nope'"),
])
def test_bad_arguments_exit_2_with_a_message_naming_the_problem(args, named, tmp_path):
    result = runner.invoke(app, args, env={"MERCATO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert named in result.output


def test_good_arguments_get_past_validation_to_the_running_platform_check(tmp_path):
    result = runner.invoke(app, ["deploy", "catalog", "--version", "2", "--strategy",
                                 "canary", "--weight", "99"],
                           env={"MERCATO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "not running" in result.output

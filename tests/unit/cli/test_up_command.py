"""`mercato up`: a wrong --replicas option is refused (exit 2, naming the problem) before
anything starts. (Parsing the option: tests/unit/platform/test_replicas.py.)"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mercato.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(("text", "named"), [("catalog=9", "from 1 to 8"),
                                             ("nope=2", "unknown service 'nope'")])
def test_mercato_up_with_a_wrong_replicas_option_exits_2_before_starting_anything(
        tmp_path, text, named):
    result = runner.invoke(app, ["up", "--replicas", text],
                           env={"MERCATO_DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Invalid value for '--replicas'" in result.output
    assert named in result.output
    assert not (tmp_path / "run").exists()  # no lock taken, nothing started

"""Finding the running platform from its state file (platform/running.py), or a
``NotRunning`` saying why not. (The commands saying so: tests/unit/cli/test_running_and_dlq.py.)"""

from __future__ import annotations

import json

import pytest

from mercato.platform.running import NotRunning, running_state


def write_state(data_dir, text: str) -> None:
    (data_dir / "run").mkdir(parents=True, exist_ok=True)
    (data_dir / "run" / "state.json").write_text(text)


def test_the_running_platform_is_found_from_its_state_file(tmp_path):
    write_state(tmp_path, json.dumps({"nats_url": "nats://127.0.0.1:5333", "pid": 1}))
    assert running_state(tmp_path)["nats_url"] == "nats://127.0.0.1:5333"


@pytest.mark.parametrize(("state", "message"), [
    (None, "is not running on data dir"),
    ("{not json", "unreadable"),
    (json.dumps({"pid": 1}), "no nats_url"),
    (json.dumps(["nats://x"]), "no nats_url"),
])
def test_no_usable_state_file_means_not_running_with_a_reason(tmp_path, state, message):
    if state is not None:
        write_state(tmp_path, state)
    with pytest.raises(NotRunning, match=message):
        running_state(tmp_path)

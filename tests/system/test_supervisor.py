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
    assert len(children) >= 12  # nats, nine services, the mobile BFF, the gateway
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


def gateway_pid(platform: Platform) -> int:
    (pid,) = [pid for pid in processes_using(platform.data_dir)
              if b"gateway" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
    return pid


def test_a_killed_gateway_comes_back_on_the_port_mercato_up_holds(platform: Platform):
    """mercato up holds the gateway's listening socket: a request sent while the gateway
    is dead waits in the backlog and is answered by the restarted one."""
    before = gateway_pid(platform)
    os.kill(before, signal.SIGKILL)
    with platform.client() as c:
        assert c.get("/api/v1/catalog/products").status_code == 200
    assert gateway_pid(platform) != before
    assert "gateway-1 exited" in platform.output.read_text()


def test_a_taken_gateway_port_is_refused_before_anything_starts(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        p = make_platform(tmp_path)
        p.port = taken.getsockname()[1]
        p.env["MERCATO_GATEWAY_PORT"] = str(p.port)
        with pytest.raises(RuntimeError, match=f"port {p.port} is taken"):
            p.start(timeout=30)
    assert processes_using(p.data_dir) == []

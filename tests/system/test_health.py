"""Health that means something, on a platform of its own: the gateway is never ready while
a service it routes to has no ready instance (watched from `mercato up`'s start, and when
a service's only instance is stopped); a hung (SIGSTOPped) service is restarted; the
trace store runs beside the platform and its routes answer through the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from mercato.platform.control import request, socket_path
from tests.system.platform import Platform, make_platform, wait_for

# Public routes that reach a service (a 503 means the gateway could not route them).
PROBES = [("GET", "/api/v1/catalog/products?limit=1", {}),
          ("GET", "/api/v1/inventory/stock/no-such-product", {}),
          ("POST", "/api/v1/identity/token", {"json": {"email": "x@example.com",
                                                       "password": "wrong-pass"}})]


def watch_readiness(p: Platform, stop: threading.Event, seen: list) -> None:
    """Poll the gateway's /health/ready from before it listens; on every 200, call a
    route of three services at once and record what they answered."""
    with httpx.Client(base_url=p.url, timeout=5) as c:
        while not stop.is_set():
            try:
                r = c.get("/health/ready")
            except httpx.HTTPError:
                stop.wait(0.05)
                continue
            if r.status_code == 200:
                seen.append((200, [c.request(m, path, **kw).status_code
                                   for m, path, kw in PROBES]))
            else:
                seen.append((r.status_code, r.json().get("detail")))
            stop.wait(0.05)


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """(platform, what /health/ready said during start-up)."""
    p = make_platform(tmp_path_factory.mktemp("health"))
    seen: list = []
    stop = threading.Event()
    poller = threading.Thread(target=watch_readiness, args=(p, stop, seen), daemon=True)
    poller.start()
    try:
        p.start()
        wait_for(lambda: any(s == 200 for s, _ in seen), 30, "a ready answer")
    finally:
        stop.set()
        poller.join(10)
    yield p, seen
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


def test_from_start_the_gateway_says_ready_only_when_every_service_answers(watched):
    _p, seen = watched
    ready = [probes for status, probes in seen if status == 200]
    assert ready, seen
    assert all(503 not in probes for probes in ready), seen
    for status, detail in seen:
        if status != 200:
            assert status == 503, seen
            assert detail.startswith(("no ready instance of",
                                      "the gateway is not connected")), detail


def ready_status(p: Platform) -> tuple[int, str]:
    r = httpx.get(p.url + "/health/ready", timeout=5)
    return r.status_code, r.json().get("detail", "")


def test_with_a_services_only_instance_stopped_the_gateway_is_not_ready_naming_it(watched):
    p, _ = watched
    control = socket_path(p.data_dir)
    asyncio.run(request(control, "stop", name="notifications-1"))
    _, detail = wait_for(lambda: (s := ready_status(p))[0] == 503 and s, 30,
                         "the gateway to say it is not ready")
    assert detail == "no ready instance of notifications"
    asyncio.run(request(control, "start", service="notifications", version="1"))
    wait_for(lambda: ready_status(p)[0] == 200, 60, "the gateway to be ready again")


def stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


def test_a_sigstopped_service_is_killed_and_restarted_by_the_supervisor(watched):
    p, _ = watched
    pid = p.pid_of("catalog")
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: f"catalog-1 (pid {pid}) failed /health/live" in
                 p.output.read_text(), 60, "the supervisor to notice the hung catalog")

        def fresh_catalog():
            with contextlib.suppress(ValueError, httpx.HTTPError):
                return p.pid_of("catalog") != pid
            return False

        wait_for(fresh_catalog, 60, "a new catalog instance, alone in the registry")
        wait_for(lambda: httpx.get(p.url + "/api/v1/catalog/products",
                                   timeout=10).status_code == 200, 30, "catalog to answer")
    finally:
        if stopped(pid):  # the test failed before the supervisor acted: let it go
            os.kill(pid, signal.SIGCONT)
    assert "catalog-1 exited with -9" in p.output.read_text()


def test_the_trace_store_runs_and_its_routes_answer_through_the_gateway(watched):
    p, _ = watched
    state = json.loads((p.data_dir / "run" / "state.json").read_text())
    assert state["trace_store_url"].startswith("http://127.0.0.1:")
    assert f"traces: {state['trace_store_url']}" in p.output.read_text().replace("\n", " ")
    admin, (customer, _) = p.admin_token(), p.new_customer()
    with p.client() as c:
        traceparent = c.get("/api/v1/catalog/products?limit=1").headers["traceparent"]
    trace_id = traceparent.split("-")[1]
    with p.client(admin) as c:
        listed = c.get("/api/v1/ops/traces", params={"limit": 5})
        assert listed.status_code == 200 and isinstance(listed.json()["items"], list)
        assert c.get("/api/v1/ops/traces/" + "0" * 31 + "1").status_code == 404
        assert c.get("/api/v1/ops/traces", params={"limit": 0}).status_code == 400

        def services() -> set[str]:  # each process exports on its own, every 500 ms
            r = c.get(f"/api/v1/ops/traces/{trace_id}")
            assert r.status_code in (200, 404), r.text
            return {s["service"] for s in r.json()["spans"]} if r.status_code == 200 else set()

        wait_for(lambda: {"gateway", "catalog"} <= services(), 30,
                 "the catalog read's spans from the gateway and catalog in the store")
    with p.client(customer) as c:
        assert c.get("/api/v1/ops/traces").status_code == 403
    shown = subprocess.run([sys.executable, "-m", "mercato", "trace", trace_id], env=p.env,
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert f"trace {trace_id}" in shown.stdout and "catalog" in shown.stdout


def test_nothing_under_the_data_dir_is_readable_by_other_users(platform: Platform):
    """Databases, keys, the NATS store and logs are the owner's only (issue 11)."""
    import stat

    open_to_others = []
    for path in [platform.data_dir, *platform.data_dir.rglob("*")]:
        if path.is_symlink() or not path.exists():
            continue
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            open_to_others.append(f"{path.relative_to(platform.data_dir)} {oct(mode & 0o777)}")
    assert open_to_others == []
    assert any(p.suffix == ".db" for p in platform.data_dir.rglob("*"))  # it looked

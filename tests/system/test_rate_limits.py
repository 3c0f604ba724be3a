"""Rate limits through real gateways: a burst over the limit gets 429s with Retry-After;
logins are held per email; and two gateway processes sharing Redis share one limit.

The platform runs with a tight per-address limit (1/h, burst 60: nothing refills during a
test, so every count is exact). Each test sends from an address of its own on the loopback
network (127.0.0.x, to the gateway on 127.0.0.1), so its bucket is fresh and the start-up
seeding from 127.0.0.1 does not touch it. For the shared limit the test starts two more
gateways itself, as `mercato up` starts the first (`mercato serve gateway`, the same NATS
and service secret), with MERCATO_REDIS_URL and a key prefix of its own; it stops them
and deletes the keys afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from mercato.platform.workload_keys import child_env
from tests.support.redis_server import REDIS_URL, system_redis
from tests.system.platform import Platform, free_port, make_platform

LIMIT = "1/h burst 60"
READ = "/api/v1/catalog/products?limit=1"


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Platform:
    p = make_platform(tmp_path_factory.mktemp("limits"), MERCATO_RATE_LIMIT_PER_CLIENT=LIMIT,
                      MERCATO_LOGIN_RATE_LIMIT_PER_EMAIL="1/h burst 3")
    p.env.pop("MERCATO_REDIS_URL", None)  # the first gateway keeps its buckets in process
    p.start()
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


def sender(url: str, address: str) -> httpx.Client:
    """A client whose requests come from ``address`` (any 127.x address is this host)."""
    return httpx.Client(base_url=url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


def test_a_burst_over_the_limit_gets_429s_with_retry_after(limited: Platform):
    with sender(limited.url, "127.0.0.2") as c:
        answers = [c.get(READ) for _ in range(75)]
    assert [r.status_code for r in answers] == [200] * 60 + [429] * 15
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 3_500 <= int(refused.headers["retry-after"]) <= 3_600
    assert refused.json()["detail"].startswith(f"rate limit per client address ({LIMIT})")
    with sender(limited.url, "127.0.0.3") as c:  # another address is not held back
        assert c.get(READ).status_code == 200


def test_sign_ins_are_held_per_email_before_they_reach_identity(limited: Platform):
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    with sender(limited.url, "127.0.0.4") as c:
        statuses = [c.post("/api/v1/identity/token",
                           json={"email": email, "password": "wrong"}).status_code
                    for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


class ExtraGateway:
    """A gateway process beside the platform's (the way `mercato up` starts its own)."""

    def __init__(self, platform: Platform, instance: int, env: dict[str, str]) -> None:
        data_dir = platform.data_dir.resolve()
        state = json.loads((data_dir / "run" / "state.json").read_text())
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"gateway-{instance}.log"
        full = dict(platform.env, MERCATO_DATA_DIR=str(data_dir),
                    MERCATO_NATS_URL=state["nats_url"], PYTHONUNBUFFERED="1",
                    **child_env("gateway", data_dir), **env)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mercato", "serve", "gateway", "--instance",
                 str(instance), "--port", str(self.port)],
                env=full, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited {self.proc.returncode}:\n"
                                   f"{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gateway not ready in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def redis_prefix():
    client = system_redis()
    prefix = f"mercato-test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_two_gateways_sharing_redis_share_one_limit(limited: Platform, redis_prefix: str):
    env = {"MERCATO_REDIS_URL": REDIS_URL, "MERCATO_RATE_LIMIT_REDIS_PREFIX": redis_prefix}
    gateways = [ExtraGateway(limited, n, env) for n in (2, 3)]
    try:
        for gw in gateways:
            gw.wait_ready()
        statuses: dict[str, list[int]] = {gw.url: [] for gw in gateways}
        clients = [sender(gw.url, "127.0.0.5") for gw in gateways]
        for _ in range(40):  # 80 requests, one to each gateway in turn
            for gw, c in zip(gateways, clients, strict=True):
                statuses[gw.url].append(c.get(READ).status_code)
        for c in clients:
            c.close()
    finally:
        for gw in gateways:
            gw.stop()
    first, second = statuses.values()
    # One limit of 60 between them: in-process buckets would have admitted all 80.
    assert (first + second).count(200) == 60
    assert first == second == [200] * 30 + [429] * 10
    logs = "".join(gw.log.read_text() for gw in gateways)
    assert '"store": "redis"' in logs and "rate_limit_redis_unavailable" not in logs


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(limited: Platform):
    """No proxy is trusted by default: a made-up X-Forwarded-For on each request (from
    127.0.0.1, which uvicorn would believe by default) is not a new client address."""
    with sender(limited.url, "127.0.0.1") as c:
        statuses = [c.get(READ, headers={"X-Forwarded-For": f"10.9.{n // 250}.{n % 250}"}
                          ).status_code for n in range(75)]
    assert 429 in statuses
    assert statuses.count(200) <= 60  # one address's budget (LIMIT), not 75 addresses'

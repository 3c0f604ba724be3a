"""OWASP API4:2023, the connection itself: a client that never finishes its request
(slow-loris: headers a line at a time, a body that never comes, or nothing at all after
connecting) is cut off by the gateway within a bound, and a request with megabytes of
headers is refused (431) rather than buffered and forwarded; a kept-alive client that
pauses between requests is not cut off.

The module runs its own platform with deadlines of 1 s (header) and 2 s (body), set the
way an operator would (MERCATO_GATEWAY_*), so the wiring from the settings to the served
gateway is what is tested; the connection guard itself is tested in detail in
tests/unit/gateway/test_http_protocol.py. Bounds are generous (SLOW_BOUND): this measures
that the connection gets closed at all, not how fast. The three slow clients run at once.
"""

from __future__ import annotations

import http.client
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.system.platform import Platform, running_platform

SLOW_BOUND = 10.0  # seconds: five to ten times the deadlines below


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    yield from running_platform(tmp_path_factory, "slow-clients",
                                MERCATO_GATEWAY_HEADER_TIMEOUT="1",
                                MERCATO_GATEWAY_BODY_TIMEOUT="2")


def held_for(platform: Platform, opening: bytes, trickle: bytes | None) -> float | None:
    """Seconds until the gateway closed (or answered) a connection that sent ``opening``
    and then ``trickle`` every second, or None if it was still open after SLOW_BOUND."""
    host, port = platform.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=1.0) as s:
        started = time.monotonic()
        if opening:
            s.sendall(opening)
        n = 0
        while time.monotonic() - started < SLOW_BOUND:
            try:
                s.recv(65536)  # an answer (408/400) or the close: either way cut off
                return time.monotonic() - started
            except TimeoutError:
                pass
            if trickle is not None:
                try:
                    s.sendall(trickle % n)
                    n += 1
                except OSError:
                    return time.monotonic() - started
    return None


def test_a_client_that_never_finishes_its_request_is_cut_off(platform: Platform):
    cases = {
        "nothing after connecting": (b"", None),
        "headers one line a second": (
            b"GET /api/v1/catalog/products HTTP/1.1\r\nHost: x\r\n", b"X-Slow-%d: 1\r\n"),
        "a body that never comes": (
            b"POST /api/v1/identity/users HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", None),
    }
    with ThreadPoolExecutor(len(cases)) as pool:
        held = dict(zip(cases, pool.map(lambda c: held_for(platform, *c), cases.values()),
                        strict=True))
    assert all(v is not None for v in held.values()), held


def test_a_kept_alive_client_making_requests_seconds_apart_is_not_cut_off(
        platform: Platform):
    host, port = platform.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        ends = set()
        for _ in range(3):
            conn.request("GET", "/api/v1/catalog/categories")
            r = conn.getresponse()
            assert r.status == 200 and r.read()
            ends.add(conn.sock.getsockname())
            time.sleep(2)  # twice the header deadline, under uvicorn's 5 s keep-alive
    finally:
        conn.close()
    assert len(ends) == 1  # one connection, kept open between the requests


@pytest.mark.parametrize("size", [64 * 1024, 8 * 1024 * 1024])
def test_megabytes_of_headers_are_refused(platform: Platform, size):
    with platform.client() as c:
        r = c.get("/api/v1/catalog/categories", headers={"X-Filler": "a" * size})
    assert r.status_code == 431, r.status_code
    assert r.json()["status"] == 431

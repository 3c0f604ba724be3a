"""The gateway's connection guard (gateway/http_protocol.py) on a real uvicorn server on a
free port, in a thread of this process, with short limits: a client that sends nothing,
or its headers a line at a time, is closed (the latter with a 408); headers past the cap
are a 431 the client gets to read, however much it still sends; a kept-alive client that
pauses between requests for longer than the header deadline is not cut off.

Bounds are generous (``BOUND``): they show the connection is closed at all, not how fast.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from mercato.gateway.http_protocol import guarded_protocol

HEADER_TIMEOUT = 0.5
MAX_HEADER_BYTES = 8 * 1024
BOUND = 5.0  # seconds: ten times the deadline


async def echo(scope, receive, send) -> None:
    """Answers 200 with the request body's length once the whole body is in."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(echo, http=guarded_protocol(HEADER_TIMEOUT, MAX_HEADER_BYTES),
                            lifespan="off", log_config=None, access_log=False,
                            timeout_keep_alive=5)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.01)
    yield sock.getsockname()
    srv.should_exit = True
    thread.join(10)


def held(address, opening: bytes, trickle: bytes | None = None) -> tuple[float, bytes]:
    """(seconds until the server closed the connection, what it answered) for a client
    that sends ``opening`` and then ``trickle`` every 0.1 s; fails after BOUND."""
    with socket.create_connection(address, timeout=0.1) as s:
        started, got = time.monotonic(), b""
        s.sendall(opening)
        while time.monotonic() - started < BOUND:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                if trickle is not None:
                    s.sendall(trickle)
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return time.monotonic() - started, got
            got += chunk
    raise AssertionError(f"still open after {BOUND}s, answered {got[:200]!r}")


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server):
    took, answer = held(server, b"")
    assert took >= HEADER_TIMEOUT * 0.9 and answer == b""


def test_headers_sent_a_line_at_a_time_get_a_408_and_the_close(server):
    _, answer = held(server, b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"application/problem+json" in answer and b"connection: close" in answer


def test_bare_line_ends_on_an_idle_connection_do_not_keep_it_open(server):
    _, answer = held(server, b"\r\n", b"\r\n")
    assert answer == b""


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES * 2, 8 * 1024 * 1024])
def test_headers_past_the_cap_are_refused_with_a_431_the_client_reads(server, size):
    with httpx.Client(base_url=f"http://{server[0]}:{server[1]}", timeout=10) as c:
        r = c.get("/", headers={"X-Filler": "a" * size})
    assert r.status_code == 431
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 431


def test_headers_and_a_body_under_the_caps_are_served(server):
    with httpx.Client(base_url=f"http://{server[0]}:{server[1]}", timeout=10) as c:
        r = c.post("/", headers={"X-Filler": "a" * (MAX_HEADER_BYTES - 1024)},
                   content=b"b" * 200_000)
    assert r.status_code == 200 and r.text == "200000"


def test_a_kept_alive_client_pausing_longer_than_the_deadline_is_not_cut_off(server):
    with socket.create_connection(server, timeout=BOUND) as s:
        for _ in range(3):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = s.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer
            time.sleep(HEADER_TIMEOUT * 3)  # well past the header deadline, within keep-alive

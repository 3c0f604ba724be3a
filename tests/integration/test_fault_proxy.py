"""The fault proxy between a client and a real TCP echo server on loopback."""

from __future__ import annotations

import asyncio
import time

import pytest

from mercato.operations.faultproxy import FaultProxy, ProxyThread


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy():
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    p = FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1])
    await p.start()
    yield p
    await p.stop()
    server.close()
    await server.wait_closed()


async def _roundtrip(port: int, payload: bytes, timeout: float = 2.0):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    return reader, writer, await asyncio.wait_for(reader.readexactly(len(payload)), timeout)


async def test_forwards_both_ways(proxy):
    _, writer, echoed = await _roundtrip(proxy.port, b"hello")
    assert echoed == b"hello" and proxy.connections == 1
    writer.close()


async def test_a_blackhole_holds_the_bytes_until_healed(proxy):
    reader, writer, _ = await _roundtrip(proxy.port, b"warm")
    proxy.blackhole()
    writer.write(b"lost?")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(5), 0.3)  # silence, not an error
    proxy.heal()
    assert await asyncio.wait_for(reader.readexactly(5), 2) == b"lost?"
    writer.close()


async def test_refuse_closes_new_connections_and_reset_cuts_open_ones(proxy):
    reader, writer, _ = await _roundtrip(proxy.port, b"a")
    proxy.reset()
    assert await asyncio.wait_for(reader.read(10), 2) == b""  # cut
    writer.close()
    proxy.refuse()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await asyncio.wait_for(reader.read(10), 2) == b""  # closed at once
    writer.close()
    proxy.heal()
    _, writer, echoed = await _roundtrip(proxy.port, b"back")
    assert echoed == b"back"
    writer.close()


async def test_latency_delays_each_chunk_at_least_that_long(proxy):
    proxy.latency(0.2)
    started = time.monotonic()
    _, writer, echoed = await _roundtrip(proxy.port, b"slow")
    assert echoed == b"slow" and time.monotonic() - started >= 0.4  # there and back
    writer.close()


def test_the_thread_form_is_driven_from_synchronous_code():
    import socket

    echo = socket.create_server(("127.0.0.1", 0))
    with ProxyThread("127.0.0.1", echo.getsockname()[1]) as p:
        client = socket.create_connection(("127.0.0.1", p.port), timeout=2)
        conn, _ = echo.accept()
        p.do("blackhole")
        client.sendall(b"held")
        conn.settimeout(0.3)
        with pytest.raises(TimeoutError):
            conn.recv(10)
        p.do("heal")
        conn.settimeout(2)
        assert conn.recv(10) == b"held"
        client.close()
        conn.close()
    echo.close()

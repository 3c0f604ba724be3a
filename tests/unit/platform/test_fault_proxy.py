"""The fault proxy (platform/faults) between a client and a real echo server on
127.0.0.1: bytes pass untouched until a toxic is set, and each toxic does what it says,
also to connections already open."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from mercato.platform.faults import BadToxic, FaultProxy, Link

WAIT = 2.0  # seconds a read that should succeed may take at most (never reached normally)


@pytest.fixture
async def proxy():
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    p = FaultProxy("test", ("127.0.0.1", server.sockets[0].getsockname()[1]))
    await p.start()
    yield p
    await p.stop()
    server.close()
    await server.wait_closed()


async def connect(p: FaultProxy):
    return await asyncio.open_connection(*p.address)


async def round_trip(reader, writer, data: bytes) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(data)), WAIT)


async def test_bytes_pass_both_ways_untouched_and_are_counted(proxy):
    reader, writer = await connect(proxy)
    data = bytes(range(256)) * 1000
    assert await round_trip(reader, writer, data) == data
    writer.close()
    assert proxy.counts.bytes == {"upstream": len(data), "downstream": len(data)}
    assert proxy.counts.accepted == 1


async def test_latency_holds_each_chunk_on_connections_already_open(proxy):
    reader, writer = await connect(proxy)
    assert await round_trip(reader, writer, b"before") == b"before"
    proxy.set({"downstream": {"latency_ms": 150}})
    started = time.monotonic()
    assert await round_trip(reader, writer, b"after") == b"after"
    assert time.monotonic() - started >= 0.15
    writer.close()


async def test_a_dropped_connection_is_closed_before_any_byte(proxy):
    proxy.set({"drop": 1})
    reader, writer = await connect(proxy)
    writer.write(b"hello")
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(10), WAIT) == b""
    writer.close()
    assert (proxy.counts.dropped, proxy.counts.accepted) == (1, 0)


async def test_reset_after_cuts_the_connection_mid_stream(proxy):
    proxy.set({"downstream": {"reset_after": 1000}})
    reader, writer = await connect(proxy)
    writer.write(b"x" * 5000)
    await writer.drain()
    got = b""
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while chunk := await asyncio.wait_for(reader.read(65536), WAIT):
            got += chunk
    writer.close()
    assert len(got) < 1000
    assert proxy.counts.reset == 1


async def test_close_after_forwards_exactly_that_many_bytes_then_ends(proxy):
    proxy.set({"downstream": {"close_after": 10}})
    reader, writer = await connect(proxy)
    writer.write(b"0123456789abcdef")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), WAIT) == b"0123456789"
    writer.close()


async def test_a_blackhole_answers_nothing_until_it_is_lifted(proxy):
    reader, writer = await connect(proxy)
    proxy.set({"upstream": {"blackhole": True}})
    writer.write(b"lost")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(10), 0.3)
    proxy.clear()
    assert await round_trip(reader, writer, b"found") == b"found"  # "lost" is gone
    writer.close()


async def test_a_stall_holds_bytes_and_loses_none(proxy):
    reader, writer = await connect(proxy)
    proxy.set({"upstream": {"stall": True}})
    writer.write(b"held")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(10), 0.3)
    proxy.set({"upstream": {"stall": False}})
    assert await asyncio.wait_for(reader.readexactly(4), WAIT) == b"held"
    writer.close()


async def test_slices_and_bandwidth_change_the_pace_not_the_bytes(proxy):
    proxy.set({"downstream": {"slice_size": 7, "slice_delay_ms": 1, "bandwidth": 100_000}})
    reader, writer = await connect(proxy)
    data = bytes(range(256)) * 20
    assert await round_trip(reader, writer, data) == data
    writer.close()


async def test_disabling_cuts_open_connections_and_refuses_new_ones(proxy):
    reader, writer = await connect(proxy)
    assert await round_trip(reader, writer, b"up") == b"up"
    proxy.set({"enabled": False})
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(10), WAIT) == b""
    writer.close()
    reader2, writer2 = await connect(proxy)
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader2.read(10), WAIT) == b""
    writer2.close()
    proxy.set({"enabled": True})
    reader3, writer3 = await connect(proxy)
    assert await round_trip(reader3, writer3, b"back") == b"back"
    writer3.close()


@pytest.mark.parametrize(("changes", "named"), [
    ({"upstream": {"latency": 5}}, "upstream.latency: unknown toxic"),
    ({"downstream": {"latency_ms": -1}}, "downstream.latency_ms: a number of at least 0"),
    ({"upstream": {"reset_after": 1.5}}, "upstream.reset_after: a whole number"),
    ({"upstream": {"blackhole": 1}}, "upstream.blackhole: true or false"),
    ({"drop": 2}, "drop: a share between 0 and 1"),
    ({"sideways": {}}, "unknown setting 'sideways'"),
])
def test_a_bad_change_is_refused_naming_the_toxic(changes, named):
    with pytest.raises(BadToxic, match=named.replace("(", r"\(")):
        Link().changed(changes)


def test_a_change_keeps_the_toxics_it_does_not_name():
    link = Link().changed({"upstream": {"latency_ms": 50}}).changed(
        {"upstream": {"jitter_ms": 5}, "drop": 0.25})
    assert (link.upstream.latency_ms, link.upstream.jitter_ms, link.drop) == (50, 5, 0.25)
    assert link.active() == {"upstream": {"latency_ms": 50, "jitter_ms": 5}, "drop": 0.25}
    assert Link().active() == {}


def test_the_thread_form_is_driven_from_synchronous_code():
    import socket

    from mercato.platform.faults import ProxyThread, both

    echo = socket.create_server(("127.0.0.1", 0))
    with ProxyThread("sync", ("127.0.0.1", echo.getsockname()[1])) as p:
        client = socket.create_connection(("127.0.0.1", p.port), timeout=2)
        conn, _ = echo.accept()
        p.set(both(stall=True))
        client.sendall(b"held")
        conn.settimeout(0.3)
        with pytest.raises(TimeoutError):
            conn.recv(10)
        p.clear()
        conn.settimeout(2)
        assert conn.recv(10) == b"held"
        p.cut()
        client.settimeout(2)
        with contextlib.suppress(ConnectionError):
            assert client.recv(10) == b""
        client.close()
        conn.close()
    echo.close()


async def test_close_after_lowered_below_what_passed_closes_at_once(proxy):
    reader, writer = await connect(proxy)
    assert await round_trip(reader, writer, b"x" * 100) == b"x" * 100
    proxy.set({"downstream": {"close_after": 10}})  # 100 bytes went back already
    writer.write(b"more")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()


def test_latency_delays_each_chunk_from_its_arrival_without_adding_up():
    from mercato.platform.faults.proxy import write_at

    free, due = 0.0, []
    for arrived in (0.0, 0.01, 0.02):  # three chunks of one stream, 10 ms apart
        at, free = write_at(arrived, 0.2, 1000, None, free)
        due.append(round(at, 3))
    assert due == [0.2, 0.21, 0.22]  # each 200 ms late, not 200, 400 and 600 ms


def test_bandwidth_queues_chunks_behind_one_another():
    from mercato.platform.faults.proxy import write_at

    free, due = 0.0, []
    for arrived in (0.0, 0.0, 5.0):  # 1000 B/s: a 500 B chunk takes half a second
        at, free = write_at(arrived, 0.0, 500, 1000, free)
        due.append(at)
    assert due == [0.5, 1.0, 5.5]  # the second waits for the first; the third finds it free

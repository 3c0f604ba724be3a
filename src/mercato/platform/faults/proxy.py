"""A TCP proxy that breaks its link on demand (docs/chaos.md §2).

Placed between a service and a peer, its database server, NATS or the payment provider's
endpoint, it forwards bytes both ways and applies the link's toxics (toxics.py) to each
chunk; ``set`` changes them at run time, for the connections already open too.

Hand-written: Toxiproxy (Go) does this and is the reference, but it is not in Debian and
the project installs nothing from outside its own files; the same few toxics on asyncio
streams are about two hundred lines, with no process of its own to manage.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from mercato.chassis.logging import get_logger
from mercato.platform.faults.toxics import Link, Toxics

log = get_logger(__name__)
CHUNK = 64 * 1024
EOF, CLOSE = object(), object()  # what a direction's queue ends with


class _Reset(Exception):
    """A ``reset_after`` toxic fired: the connection ends with an RST."""


@dataclass
class Counts:
    """What went through a proxy since it started."""

    accepted: int = 0
    dropped: int = 0  # closed at once by ``drop`` or refused while disabled
    failed_upstream: int = 0  # the upstream could not be reached
    reset: int = 0
    closed: int = 0  # by ``close_after``
    bytes: dict[str, int] = field(default_factory=lambda: {"upstream": 0, "downstream": 0})


class FaultProxy:
    """Listens on ``listen_host:listen_port`` (0: any free port) and forwards to
    ``upstream``; ``name`` says which link it is in logs and reports."""

    def __init__(self, name: str, upstream: tuple[str, int], *,
                 listen_host: str = "127.0.0.1", listen_port: int = 0,
                 rng: random.Random | None = None) -> None:
        self.name, self.upstream = name, upstream
        self.listen_host, self.listen_port = listen_host, listen_port
        self.link = Link()
        self.counts = Counts()
        self._rng = rng or random.Random()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.Task] = set()
        self._changed = asyncio.Event()  # set on every change: a stall re-reads the link

    @property
    def address(self) -> tuple[str, int]:
        return self.listen_host, self.listen_port

    async def start(self) -> int:
        """Start listening; the port it listens on."""
        self._server = await asyncio.start_server(self._accept, self.listen_host,
                                                  self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]
        return self.listen_port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._open):
            task.cancel()
        await asyncio.gather(*self._open, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def set(self, changes: dict[str, Any]) -> Link:
        """Apply ``changes`` (``Link.changed``) now; disabling cuts the open connections."""
        self.link = self.link.changed(changes)
        log.warning("fault_proxy_toxic", proxy=self.name, toxics=self.link.active())
        self._changed.set()
        self._changed = asyncio.Event()
        if not self.link.enabled:
            self.cut()
        return self.link

    def cut(self) -> None:
        """Reset every open connection now (a cut mid-stream); new ones are accepted."""
        for task in list(self._open):
            task.cancel()

    def clear(self) -> Link:
        """Every toxic off, the link enabled."""
        self.link = Link()
        log.info("fault_proxy_cleared", proxy=self.name)
        self._changed.set()
        self._changed = asyncio.Event()
        return self.link

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "listen": f"{self.listen_host}:{self.listen_port}",
                "upstream": f"{self.upstream[0]}:{self.upstream[1]}",
                "toxics": self.link.active(), "open": len(self._open),
                "counts": {**self.counts.__dict__, "bytes": dict(self.counts.bytes)}}

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            _abort(writer)
        finally:
            self._open.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = self.link
        if not link.enabled or (link.drop and self._rng.random() < link.drop):
            self.counts.dropped += 1
            _abort(writer)
            return
        self.counts.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.counts.failed_upstream += 1
            _abort(writer)
            return
        pumps = [asyncio.create_task(self._pump(reader, up_writer, "upstream")),
                 asyncio.create_task(self._pump(up_reader, writer, "downstream"))]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            failed = [t.exception() for t in done if t.exception() is not None]
            if failed:
                raise failed[0]
        except (_Reset, asyncio.CancelledError, OSError) as exc:
            # a reset toxic, a cut (cancelled), or one side broke the connection: both
            # sides get an RST, before anything else is awaited
            self.counts.reset += isinstance(exc, _Reset)
            _abort(writer)
            _abort(up_writer)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            for pump in pumps:
                pump.cancel()
            for w in (writer, up_writer):
                w.close()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    direction: str) -> None:
        """Forward one direction until its end of file, with that direction's toxics.

        Reading and writing are apart: each chunk is stamped with the time it is due
        (``write_at``: its arrival plus the latency, paced by the bandwidth) and queued, so
        a latency delays every chunk by that much without adding up along a stream (held
        one after another, 100 ms would cap a stream at ten chunks a second)."""
        queue: asyncio.Queue = asyncio.Queue()
        delivery = asyncio.create_task(self._deliver(queue, writer))
        passed, free_at = 0, 0.0
        try:
            while chunk := await reader.read(CHUNK):
                toxics = await self._unstalled(direction)
                if toxics.blackhole:
                    continue
                closing = bool(toxics.close_after) and passed + len(chunk) >= toxics.close_after
                if closing:  # the limit may have been lowered below what passed
                    chunk = chunk[:max(0, toxics.close_after - passed)]
                elif toxics.reset_after and passed + len(chunk) >= toxics.reset_after:
                    raise _Reset()
                passed += len(chunk)
                self.counts.bytes[direction] += len(chunk)
                due, free_at = write_at(time.monotonic(), toxics.delay(self._rng), len(chunk),
                                        toxics.bandwidth, free_at)
                queue.put_nowait((due, chunk, toxics))
                if closing:
                    self.counts.closed += 1
                    queue.put_nowait(CLOSE)
                    break
            else:
                queue.put_nowait(EOF)
            await delivery
        finally:
            delivery.cancel()

    async def _deliver(self, queue: asyncio.Queue, writer: asyncio.StreamWriter) -> None:
        """Write the queued chunks in order, each not before it is due."""
        while True:
            item = await queue.get()
            if item is EOF:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()  # half-close: the other way may still answer
                return
            if item is CLOSE:
                writer.close()
                return
            due, chunk, toxics = item
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            for n, piece in enumerate(toxics.pieces(chunk)):
                if n and toxics.slice_delay_ms:
                    await asyncio.sleep(toxics.slice_delay_ms / 1000)
                writer.write(piece)
                await writer.drain()

    async def _unstalled(self, direction: str) -> Toxics:
        toxics = getattr(self.link, direction)
        while toxics.stall:
            await self._changed.wait()
            toxics = getattr(self.link, direction)
        return toxics


def write_at(arrived: float, delay: float, size: int, bandwidth: int | None,
             free_at: float) -> tuple[float, float]:
    """When a chunk of ``size`` bytes that ``arrived`` is written, and when the link is
    free again: its latency ``delay`` after it arrived, and with a ``bandwidth`` (bytes/s)
    not before the chunks ahead of it have had their time on the wire."""
    due = arrived + delay
    if bandwidth:
        due = max(due, free_at) + size / bandwidth
    return due, max(free_at, due)


def _abort(writer: asyncio.StreamWriter) -> None:
    """End the connection with an RST (SO_LINGER 0), not a clean close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

"""A TCP proxy that breaks the connection it carries on purpose: the fault half of fault
tests (issue 15's fault matrix; issue 12's "the orders database unreachable for 10 s").

Placed between a process and one upstream (a database server, NATS, a peer service), it
forwards bytes both ways until told otherwise. Faults are set at run time:

- ``latency(seconds, jitter)``: every chunk waits that long (plus up to ``jitter``)
  before it is forwarded, both ways;
- ``blackhole()``: connections stay open and accepted, but nothing is forwarded either
  way — a peer that hangs, the hardest failure for a client (no error, only silence);
- ``refuse()``: new connections are closed at once (a server that is down);
- ``reset()``: every open connection is closed now (a network cut mid-stream);
- ``heal()``: back to forwarding (bytes held during a blackhole are then delivered, as a
  stalled network would once it recovers).

Why by hand: ``tc netem`` does not work on this machine (the kernel lacks it), and
Toxiproxy is a Go server to install and drive over HTTP; an asyncio proxy of a hundred
lines does what the tests need, in the test's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass

CHUNK = 64 * 1024


@dataclass
class Faults:
    """What the proxy does to traffic now."""

    latency: float = 0.0
    jitter: float = 0.0
    blackhole: bool = False
    refuse: bool = False


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream_host:upstream_port``, with faults."""

    def __init__(self, upstream_host: str, upstream_port: int, *, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port
        self.faults = Faults()
        self.connections = 0  # accepted so far
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.reset()
            await self._server.wait_closed()

    def latency(self, seconds: float, jitter: float = 0.0) -> None:
        self.faults.latency, self.faults.jitter = seconds, jitter

    def blackhole(self) -> None:
        self.faults.blackhole = True
        self._flowing.clear()

    def refuse(self) -> None:
        self.faults.refuse = True

    def reset(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def heal(self) -> None:
        self.faults = Faults()
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.faults.refuse:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._open.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(CHUNK):
                await self._flowing.wait()  # a blackhole holds the bytes here
                if self.faults.latency or self.faults.jitter:
                    await asyncio.sleep(self.faults.latency
                                        + random.uniform(0, self.faults.jitter))
                writer.write(data)
                await writer.drain()
        writer.transport.abort()  # one side closed: close the other, as a cut would


class ProxyThread:
    """A ``FaultProxy`` on an event loop of its own thread, for synchronous tests: its
    fault methods may be called from the test's thread."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self.proxy = FaultProxy(upstream_host, upstream_port)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fault-proxy")

    def __enter__(self) -> ProxyThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def port(self) -> int:
        return self.proxy.port

    def do(self, fault: str, *args: float) -> None:
        """Call ``fault`` ("blackhole", "heal", "reset", "refuse", "latency") on the
        proxy's own loop and wait until it is in force."""
        async def call() -> None:
            getattr(self.proxy, fault)(*args)
        asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

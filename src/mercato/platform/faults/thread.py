"""A ``FaultProxy`` on an event loop of its own thread, for synchronous code (a system
test's buyers run in threads): its changes may be made from any thread and are in force
when the call returns."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from mercato.platform.faults.proxy import FaultProxy


class ProxyThread:
    """``with ProxyThread("pg", ("127.0.0.1", 5432)) as p:`` — ``p.port`` to connect to,
    ``p.set(changes)``, ``p.cut()`` and ``p.clear()`` as on the proxy itself."""

    def __init__(self, name: str, upstream: tuple[str, int]) -> None:
        self._loop = asyncio.new_event_loop()
        self.proxy = FaultProxy(name, upstream)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=f"fault-proxy-{name}")

    def __enter__(self) -> ProxyThread:
        self._thread.start()
        self._call(self.proxy.start)
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self.proxy.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def port(self) -> int:
        return self.proxy.listen_port

    def set(self, changes: dict[str, Any]) -> None:
        self._call(lambda: _now(self.proxy.set, changes))

    def cut(self) -> None:
        self._call(lambda: _now(self.proxy.cut))

    def clear(self) -> None:
        self._call(lambda: _now(self.proxy.clear))

    def _call(self, make) -> Any:
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(10)


async def _now(fn, *args: Any) -> Any:
    return fn(*args)

"""The card provider simulator served in this process on a free port, for the tests of
payments' HTTP adapter and reconciler (``async with running_provider(tmp) as (url, ledger)``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from mercato.simulators.provider import Ledger, create_app


@contextlib.asynccontextmanager
async def running_provider(data: Path, *, slow_delay: float = 5.0
                           ) -> AsyncIterator[tuple[str, Ledger]]:
    ledger = Ledger(data / "ledger.sqlite3")
    runner = web.AppRunner(create_app(ledger, slow_delay=slow_delay), shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the port the OS picked
    try:
        yield f"http://127.0.0.1:{port}", ledger
    finally:
        await runner.cleanup()
        ledger.close()

"""``mercato up``'s card provider: the simulator (mercato.simulators.provider) started as
the supervised child ``provider`` (``mercato serve provider --port P``, log
``logs/provider.log``, its ledger in ``<data dir>/provider/``, so a restart keeps it),
and payments pointed at it with ``MERCATO_PAYMENT_PROVIDER_URL``.

A provider URL the user set is theirs: no simulator is started and it is used as given.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from mercato.platform.catalog import PROVIDER
from mercato.platform.nats_server import free_port
from mercato.platform.supervisor import ProcessSpec, Supervisor

URL_VARIABLE = "MERCATO_PAYMENT_PROVIDER_URL"


class ProviderError(Exception):
    """The simulator did not start (the reason, with where its log is)."""


def provider_spec(port: int, env: Mapping[str, str], logs: Path) -> ProcessSpec:
    argv = [sys.executable, "-m", "mercato", "serve", PROVIDER, "--port", str(port)]
    return ProcessSpec(PROVIDER, argv, dict(env), logs / f"{PROVIDER}.log")


async def provider_setup(sup: Supervisor, env: Mapping[str, str], logs: Path, *,
                         host: str = "127.0.0.1", timeout: float = 20.0
                         ) -> tuple[dict[str, str], str]:
    """(the children's environment, the provider's URL): the user's own, or the
    simulator's once it answers ``/health/live``. Raises ``ProviderError``."""
    if env.get(URL_VARIABLE):
        return dict(env), env[URL_VARIABLE]
    port = free_port(host)
    url = f"http://{host}:{port}"
    child = await sup.start(provider_spec(port, env, logs))
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url + "/health/live") as r:
                    if r.status == 200:
                        return dict(env, **{URL_VARIABLE: url}), url
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    raise ProviderError(f"the card provider simulator (pid {child.pid}) did not answer on "
                        f"{url} within {timeout:.0f}s; see {child.spec.log_path}")

"""``mercato up``'s card provider: the simulator (mercato.simulators.provider) started as
the supervised child ``provider`` (``mercato serve provider --port P``, log
``logs/provider.log``, its ledger in ``<data dir>/provider/``, so a restart keeps it),
and payments pointed at it with ``MERCATO_PAYMENT_PROVIDER_URL``.

A provider URL the user set is theirs: no simulator is started and it is used as given.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from mercato.platform.catalog import PROVIDER
from mercato.platform.liveness import answers_live
from mercato.platform.nats_server import STANDARD_PORT, free_port
from mercato.platform.supervisor import Child, ProcessSpec

URL_VARIABLE = "MERCATO_PAYMENT_PROVIDER_URL"


class ProviderError(Exception):
    """The simulator did not start (the reason, with where its log is)."""


def provider_spec(port: int, env: Mapping[str, str], logs: Path) -> ProcessSpec:
    argv = [sys.executable, "-m", "mercato", "serve", PROVIDER, "--port", str(port)]
    return ProcessSpec(PROVIDER, argv, dict(env), logs / f"{PROVIDER}.log")


def provider_plan(env: Mapping[str, str], logs: Path, *, host: str = "127.0.0.1",
                  avoid: frozenset[int] = frozenset()
                  ) -> tuple[dict[str, str], str, ProcessSpec | None]:
    """(the children's environment, the provider's URL, the simulator's process): the
    user's own URL and nothing to start, or the simulator on a free port (not one of
    ``avoid``: chosen for processes not listening yet)."""
    if env.get(URL_VARIABLE):
        return dict(env), env[URL_VARIABLE], None
    port = free_port(host, avoid=avoid | {STANDARD_PORT})
    url = f"http://{host}:{port}"
    return dict(env, **{URL_VARIABLE: url}), url, provider_spec(port, env, logs)


async def provider_live(child: Child, url: str, *, timeout: float = 20.0) -> None:
    """Until the started simulator answers ``/health/live``; ``ProviderError`` if it does
    not within ``timeout`` seconds."""
    if not await answers_live(url, timeout):
        raise ProviderError(f"the card provider simulator (pid {child.pid}) did not answer "
                            f"on {url} within {timeout:.0f}s; see {child.spec.log_path}")


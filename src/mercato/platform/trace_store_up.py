"""``mercato up``'s embedded trace store: started as the supervised child ``traces``
(``mercato serve traces --port P``, log ``logs/traces.log``) unless the user exports
spans elsewhere, and the environment that points every other process at it.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set by the
user, every process exports there instead: no store is started and
``MERCATO_TRACE_STORE_URL`` is not set (the gateway's trace routes then answer 404 saying
where the traces went).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from mercato.platform.catalog import TRACES
from mercato.platform.nats_server import free_port
from mercato.platform.supervisor import ProcessSpec, Supervisor

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SCHEDULE_DELAY_MS = "500"  # how often each process exports (the SDK's default is 5000)


class TraceStoreError(Exception):
    """The trace store did not start (the reason, with where its log is)."""


def external_endpoint(environ: Mapping[str, str]) -> str | None:
    """Where the user sends spans, if they chose (the traces-only variable wins, as in the
    SDK); None means the embedded store."""
    for name in ENDPOINT_VARIABLES:
        if environ.get(name):
            return environ[name]
    return None


def trace_store_spec(port: int, env: Mapping[str, str], logs: Path) -> ProcessSpec:
    """The store's process; its environment carries no exporter settings (it must not
    trace itself, and would otherwise export to itself)."""
    own = {k: v for k, v in env.items() if not k.startswith("OTEL_EXPORTER_OTLP")}
    argv = [sys.executable, "-m", "mercato", "serve", TRACES, "--port", str(port)]
    return ProcessSpec(TRACES, argv, own, logs / f"{TRACES}.log")


def exporter_env(env: Mapping[str, str], store_url: str) -> dict[str, str]:
    """``env`` with every process exporting to the store at ``store_url`` every 500 ms
    (unless the user set ``OTEL_BSP_SCHEDULE_DELAY``), and the store's URL for its
    readers (the gateway's trace routes)."""
    out = dict(env, OTEL_EXPORTER_OTLP_ENDPOINT=store_url, MERCATO_TRACE_STORE_URL=store_url)
    out.setdefault("OTEL_BSP_SCHEDULE_DELAY", SCHEDULE_DELAY_MS)
    return out


async def trace_setup(sup: Supervisor, env: Mapping[str, str], logs: Path,
                      say: Callable[[str], None]) -> tuple[dict[str, str], str | None, str]:
    """What the platform does with its spans: (the children's environment, the store's
    URL or None, a line for the start-up table). No store when tracing is off
    (``OTEL_SDK_DISABLED=true``) or spans go to the user's own endpoint; otherwise it is
    started and every child exports to it. Raises ``TraceStoreError``."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return dict(env), None, "off (OTEL_SDK_DISABLED=true)"
    if external := external_endpoint(env):
        return dict(env), None, f"exported to {external}"
    store_url = await start_trace_store(sup, env, logs)
    say(f"Started the trace store on {store_url} (data in "
        f"{Path(env.get('MERCATO_DATA_DIR', '.')) / 'traces'})")
    return exporter_env(env, store_url), store_url, store_url


async def start_trace_store(sup: Supervisor, env: Mapping[str, str], logs: Path, *,
                            host: str = "127.0.0.1", timeout: float = 20.0) -> str:
    """Start the store on a free port and wait until it answers ``/health/live``; its
    URL. Raises ``TraceStoreError`` when it does not within ``timeout`` seconds."""
    port = free_port(host)
    url = f"http://{host}:{port}"
    child = await sup.start(trace_store_spec(port, env, logs))
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url + "/health/live") as r:
                    if r.status == 200:
                        return url
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    raise TraceStoreError(f"the trace store (pid {child.pid}) did not answer on {url} within "
                          f"{timeout:.0f}s; see {child.spec.log_path}")

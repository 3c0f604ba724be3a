"""``mercato up``'s embedded trace store: started as the supervised child ``traces``
(``mercato serve traces --port P``, log ``logs/traces.log``) unless the user exports
spans elsewhere, and the environment that points every other process at it.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set by the
user, every process exports there instead: no store is started and
``MERCATO_TRACE_STORE_URL`` is not set (the gateway's trace routes then answer 404 saying
where the traces went).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mercato.platform.catalog import TRACES
from mercato.platform.liveness import answers_live
from mercato.platform.nats_server import STANDARD_PORT, free_port
from mercato.platform.supervisor import Child, ProcessSpec

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


@dataclass
class TracePlan:
    """What the platform does with its spans, decided before anything starts: the
    children's environment, the store's URL (None: no store), the start-up table's line and
    the store's process (None: none to start)."""

    env: dict[str, str]
    url: str | None
    line: str
    spec: ProcessSpec | None = None


def trace_plan(env: Mapping[str, str], logs: Path, *, host: str = "127.0.0.1",
               avoid: frozenset[int] = frozenset()) -> TracePlan:
    """No store when tracing is off (``OTEL_SDK_DISABLED=true``) or spans go to the user's
    own endpoint; otherwise one on a free port (not one of ``avoid``: chosen for processes
    not listening yet), every child exporting to it."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TracePlan(dict(env), None, "off (OTEL_SDK_DISABLED=true)")
    if external := external_endpoint(env):
        return TracePlan(dict(env), None, f"exported to {external}")
    port = free_port(host, avoid=avoid | {STANDARD_PORT})
    url = f"http://{host}:{port}"
    return TracePlan(exporter_env(env, url), url, url, trace_store_spec(port, env, logs))


async def trace_store_live(child: Child, url: str, say: Callable[[str], None], *,
                           timeout: float = 20.0) -> None:
    """Until the started store answers ``/health/live``; ``TraceStoreError`` if it does
    not within ``timeout`` seconds."""
    if not await answers_live(url, timeout):
        raise TraceStoreError(f"the trace store (pid {child.pid}) did not answer on {url} "
                              f"within {timeout:.0f}s; see {child.spec.log_path}")
    say(f"Started the trace store on {url} (data in "
        f"{Path(child.spec.env.get('MERCATO_DATA_DIR', '.')) / 'traces'})")


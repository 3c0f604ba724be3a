"""``mercato up`` waiting for the platform to be ready, and the table it then prints (every
instance, each NATS server, the trace store)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiohttp
from rich.table import Table

from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.messaging.servers import nats_servers
from mercato.platform.catalog import PROVIDER, SERVICES, TRACES
from mercato.platform.instances import instance_table, shortfalls
from mercato.platform.nats_up import nats_children
from mercato.platform.supervisor import Supervisor


async def wait_ready(view: RegistryView, gateway_url: str, sup: Supervisor,
                     timeout: float, replicas: dict[str, int]) -> None:
    """Until every service has its ready instances and the gateway answers ready;
    ``TimeoutError`` saying what is missing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    missing = list(SERVICES)
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            missing = shortfalls(view.all(), replicas)
            gateway_ok = False
            if not missing:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(gateway_url + "/health/ready", timeout=1) as r:
                        gateway_ok = r.status == 200
            if not missing and gateway_ok:
                return
            await asyncio.sleep(0.1)
    logs = next(iter(sup.children.values())).spec.log_path.parent
    raise TimeoutError(f"not ready within {timeout:.0f}s: waiting for "
                       f"{', '.join(missing or ['the gateway'])}; see the logs under {logs}")


def running_table(sup: Supervisor, view: RegistryView, gateway_url: str, nats_url: str,
                  logs: Path, traces: str, provider: str = "") -> Table:
    """The registry's instances, then each NATS server, the trace store and the card
    provider's simulator by pid."""
    table = instance_table("Mercato is running", view.all(), time.time())
    for name, url in zip(nats_children(sup.children), nats_servers(nats_url), strict=False):
        table.add_row(name, "-", str(sup.children[name].pid), url, "-", "-", "-")
    if TRACES in sup.children:
        table.add_row("traces", "-", str(sup.children[TRACES].pid), traces, "-", "-", "-")
    if PROVIDER in sup.children:
        table.add_row(PROVIDER, "-", str(sup.children[PROVIDER].pid), provider, "-", "-", "-")
    table.caption = (f"gateway: {gateway_url}   traces: {traces}   logs: {logs}   "
                     "stop: Ctrl-C")
    return table

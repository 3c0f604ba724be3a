"""``mercato status``: the registry as a table."""

from __future__ import annotations

import time

import nats
from rich.console import Console
from rich.table import Table

from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.settings import Settings


async def show_status(nats_url: str, settings: Settings) -> int:
    nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=1)
    try:
        view = RegistryView(nc, settings.registry_ttl)
        await view.start()
        instances = sorted(view.all(), key=lambda i: (i.service, i.instance_id))
        await view.stop()
    finally:
        await nc.close()
    table = Table(title=f"Registered instances ({nats_url})")
    for col in ("service", "instance", "address", "version", "health", "pid", "heartbeat"):
        table.add_column(col)
    now = time.time()
    for i in instances:
        table.add_row(i.service, i.instance_id, i.address, i.version, i.health, str(i.pid),
                      f"{now - i.heartbeat_at:.1f}s ago")
    Console().print(table)
    return 0 if instances else 1

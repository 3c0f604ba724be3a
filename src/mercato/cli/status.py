"""``mercato status``: the registry as a table, one row per instance (replicas included),
and the services that have fewer ready instances than ``mercato up`` started."""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from mercato.chassis.calls.registry import Instance, RegistryView
from mercato.chassis.settings import Settings
from mercato.cli.running import connect

COLUMNS = ("service", "instance", "pid", "address", "version", "health", "last heartbeat")


def instance_table(title: str, instances: Iterable[Instance], now: float) -> Table:
    """Every instance, by service then instance id, with how long ago it last heartbeat."""
    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col, overflow="fold")
    for i in sorted(instances, key=lambda i: (i.service, i.instance_id)):
        table.add_row(i.service, i.instance_id, str(i.pid), i.address, i.version, i.health,
                      f"{max(now - i.heartbeat_at, 0.0):.1f}s ago")
    return table


def shortfalls(instances: Iterable[Instance], expected: dict[str, int]) -> list[str]:
    """The services with fewer ready instances than expected, e.g. ``catalog (2 of 3
    ready)``, in the order of ``expected``."""
    ready: dict[str, int] = {}
    for i in instances:
        if i.health == "ready":
            ready[i.service] = ready.get(i.service, 0) + 1
    return [f"{service} ({ready.get(service, 0)} of {count} ready)"
            for service, count in expected.items() if ready.get(service, 0) < count]


async def show_status(nats_url: str, settings: Settings,
                      expected: dict[str, int] | None = None,
                      login: dict[str, str] | None = None) -> int:
    """Print the registry; exit 1 when nothing is registered. ``expected`` (instances per
    service, as ``mercato up`` recorded them) adds a line for each service short of them."""
    nc = await connect(nats_url, login)
    try:
        view = RegistryView(nc, settings.registry_ttl)
        await view.start()
        instances = view.all()
        await view.stop()
    finally:
        await nc.close()
    table = instance_table(f"Registered instances ({nats_url})", instances, time.time())
    short = shortfalls(instances, expected or {})
    if short:
        table.caption = "short of instances: " + ", ".join(short)
    Console(width=max(Console().width, 140)).print(table)
    return 0 if instances else 1

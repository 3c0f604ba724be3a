"""The registry's instances as ``mercato up`` and ``mercato status`` show them: a table,
one row per instance (replicas included), and the services that have fewer ready
instances than were started (what ``mercato up`` waits on, what ``mercato status`` names).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from mercato.chassis.calls.registry import Instance

COLUMNS = ("service", "instance", "pid", "address", "grpc", "version", "health",
           "last heartbeat")


def instance_table(title: str, instances: Iterable[Instance], now: float) -> Table:
    """Every instance, by service then instance id, with how long ago it last heartbeat."""
    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col, overflow="fold")
    for i in sorted(instances, key=lambda i: (i.service, i.instance_id)):
        table.add_row(i.service, i.instance_id, str(i.pid), i.address, i.grpc or "-",
                      i.version, i.health,
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

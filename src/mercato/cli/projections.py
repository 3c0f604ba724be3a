"""``mercato projections rebuild``: rebuild services' read models from their event stores.

The CLI imports no service and opens no service's database: the service that owns the
read models rebuilds them itself (``POST /internal/projections/rebuild``), in one
transaction serialized with its running projector. The CLI finds the running platform
(``<data dir>/run/state.json``) and calls each service through the registry with a
service token, as the services call each other.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.settings import Settings
from mercato.platform.running import cli_identity, cli_ssl, connect, login, running_state

PROJECTING = ("orders",)  # the services that keep read models
REBUILD_TIMEOUT = 120.0  # seconds: the whole store is replayed in one call


async def rebuild_projections(settings: Settings, console: Console,
                              services: list[str]) -> int:
    data_dir = Path(settings.data_dir)
    state = running_state(data_dir)
    identity = cli_identity(settings)
    nc = await connect(state["nats_url"], login(data_dir))
    view = RegistryView(nc, settings.registry_ttl)
    client = ServiceClient(view, identity, timeout=REBUILD_TIMEOUT, ssl=cli_ssl(data_dir))
    try:
        await view.start()
        await client.start()
        return await rebuild_all(client, services, console)
    finally:
        await client.close()
        await view.stop()
        await nc.close()


async def rebuild_all(client: ServiceClient, services: list[str], console: Console) -> int:
    """Ask each service to rebuild and print what it reports; 1 if any could not."""
    code = 0
    for service in services:
        try:
            reply = await client.call(service, "POST", "/internal/projections/rebuild",
                                      timeout=REBUILD_TIMEOUT)
        except Unavailable as exc:
            console.print(f"[red]{service}: not rebuilt[/]: {exc}", highlight=False)
            code = 1
            continue
        if not reply.ok:
            try:
                detail = (reply.json() or {}).get("detail", "")
            except ValueError:
                detail = reply.body[:200].decode("utf-8", "replace")
            console.print(f"[red]{service}: not rebuilt[/]: it answered {reply.status} "
                          f"{detail}", highlight=False)
            code = 1
            continue
        for line in describe(service, reply.json()):
            console.print(line, highlight=False)
    return code


def describe(service: str, report: dict) -> list[str]:
    rows = report["rows"]
    width = max((len(t) for t in rows), default=0)
    return [f"{service}: rebuilt from {report['events']} events "
            f"(position {report['position']})",
            *(f"  {table:<{width}}  {count:>7} rows" for table, count in rows.items())]

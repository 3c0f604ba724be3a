"""``mercato status``: the registry as a table, one row per instance (replicas included),
and the services that have fewer ready instances than ``mercato up`` started."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from mercato.chassis.settings import Settings


async def show_status(nats_url: str, settings: Settings,
                      expected: dict[str, int] | None = None,
                      login: dict[str, str] | None = None) -> int:
    """Print the registry; exit 1 when nothing is registered. ``expected`` (instances per
    service, as ``mercato up`` recorded them) adds a line for each service short of them."""
    from rich.console import Console

    from mercato.chassis.calls.registry import RegistryView
    from mercato.platform.instances import instance_table, shortfalls
    from mercato.platform.running import connect

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


def status() -> None:
    """Show every registered instance of a running platform (from the registry): service,
    instance id, pid, address, version, health and last heartbeat; and the services with
    fewer ready instances than `mercato up` started."""
    # `mercato` imports this module for every command (and `mercato serve` for every
    # process): what `status` needs is imported when it runs
    from mercato.chassis.settings import load_settings
    from mercato.cli.common import run
    from mercato.platform.running import NotRunning, expected_instances, login, running_state

    settings = load_settings()
    try:
        state = running_state(Path(settings.data_dir))
    except NotRunning as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(run(show_status(state["nats_url"], settings,
                                     expected=expected_instances(state),
                                     login=login(Path(settings.data_dir)))))

"""The ``mercato`` command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Mercato: an e-commerce platform built as real microservices.",
                  no_args_is_help=True, add_completion=False)


@app.command()
def up(
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the demo catalog.")]
    = False,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 90.0,
) -> None:
    """Start NATS, every service and the gateway; supervise them until Ctrl-C."""
    import uvloop

    from mercato.chassis.settings import load_settings
    from mercato.cli.up import UpError, console, run_up

    try:
        settings = load_settings()
        code = uvloop.run(run_up(settings, seed=not no_seed, ready_timeout=ready_timeout))
    except UpError as exc:
        console.print(f"[red]error:[/] {exc}")
        code = 1
    raise typer.Exit(code)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="identity, catalog, ..., or gateway")],
    instance: Annotated[int, typer.Option(help="Instance number, shown in ps.")] = 1,
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 0,
) -> None:
    """Run one instance of a service (the supervisor calls this)."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.catalog import GATEWAY, SERVICES, load_builder

    settings = load_settings()
    if service == GATEWAY:
        from mercato.gateway.bootstrap import serve_gateway

        serve_gateway(settings, instance=instance, port=port or settings.gateway_port)
        return
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    from mercato.chassis.serve import serve_service

    serve_service(service, load_builder(service), settings, instance=instance, port=port)


@app.command()
def status() -> None:
    """Show every registered instance of a running platform (from the registry)."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.status import show_status

    settings = load_settings()
    state_file = Path(settings.data_dir) / "run" / "state.json"
    if not state_file.exists():
        typer.echo(f"Mercato is not running on data dir {settings.data_dir} (no {state_file}).")
        raise typer.Exit(1)
    state = json.loads(state_file.read_text())
    raise typer.Exit(asyncio.run(show_status(state["nats_url"], settings)))

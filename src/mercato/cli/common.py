"""What the ``mercato`` commands share: the running platform's NATS URL, running a
command's coroutine with one clear line when the platform is not there, a wide console."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer


def nats_url(settings) -> tuple[str, dict[str, str]]:
    """The running platform's NATS URL (from ``<data dir>/run/state.json``; exit 1 if
    none) and the ``cli`` user's login to it."""
    from mercato.platform.running import NotRunning, login, running_state

    try:
        return running_state(Path(settings.data_dir))["nats_url"], login(settings.data_dir)
    except NotRunning as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def run(coro) -> int:
    """Run a command's coroutine; an unreachable platform is one clear line and exit 1."""
    from mercato.platform.running import NotRunning

    try:
        return asyncio.run(coro)
    except NotRunning as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1


def console():
    from rich.console import Console

    return Console(width=max(Console().width, 160))

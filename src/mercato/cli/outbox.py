"""``mercato outbox redrive``: re-publish what the services' outboxes published, after the
broker lost events (docs/chaos.md F4) — the relays do it by themselves when they notice a
stream lost its messages; this is the operator's way to ask for it.

The CLI opens no service's database: each publishing service marks its own rows unsent
(``POST /internal/outbox/redrive``, with the ``cli`` service token, through the registry),
and its relay re-publishes them in order under their event ids; consumers' inboxes drop
those they had handled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer
from rich.console import Console

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.settings import Settings
from mercato.cli.common import console as _console
from mercato.cli.common import run as _run
from mercato.platform.running import cli_identity, cli_ssl, connect, login, running_state

outbox_app = typer.Typer(help="Outboxes: re-publish what they sent (after a broker loss).",
                         no_args_is_help=True, add_completion=False)


@outbox_app.command("redrive", help=(
    "Mark the outbox rows each publishing service published (since --since, or within the "
    "retention, MERCATO_OUTBOX_RETENTION) unsent again: its relay re-publishes them in "
    "order with their event ids, and the consumers' inboxes drop what they had handled. "
    "Prints the rows per service; exits 1 if a service could not."))
def redrive(
    service: Annotated[list[str] | None, typer.Option(
        "--service", metavar="SERVICE",
        help="A publishing service; repeat for several. Default: all.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="ISO", help="Only rows published at or after this moment "
        "(ISO 8601, UTC if no offset).")] = None,
) -> None:
    """Re-publish the outboxes' rows."""
    from mercato.chassis.settings import load_settings
    from mercato.platform.nats_permissions import publishers

    chosen = service or list(publishers())
    for name in chosen:
        if name not in publishers():
            raise typer.BadParameter(f"{name!r} publishes no events; one of "
                                     f"{', '.join(publishers())}", param_hint="--service")
    raise typer.Exit(_run(redrive_outboxes(load_settings(), _console(), chosen, since)))


async def redrive_outboxes(settings: Settings, console: Console, services: list[str],
                           since: str | None) -> int:
    data_dir = Path(settings.data_dir)
    nc = await connect(running_state(data_dir)["nats_url"], login(data_dir))
    view = RegistryView(nc, settings.registry_ttl)
    client = ServiceClient(view, cli_identity(settings), timeout=30, ssl=cli_ssl(data_dir))
    code = 0
    try:
        await view.start()
        await client.start()
        for service in services:
            params = f"?since={quote(since)}" if since else ""
            try:
                reply = await client.call(service, "POST", f"/internal/outbox/redrive{params}",
                                          timeout=30)
            except Unavailable as exc:
                console.print(f"[red]{service}: not re-driven[/]: {exc}", highlight=False)
                code = 1
                continue
            if not reply.ok:
                console.print(f"[red]{service}: not re-driven[/]: it answered "
                              f"{reply.status} {reply.body[:200].decode('utf-8', 'replace')}",
                              highlight=False)
                code = 1
                continue
            body = reply.json()
            console.print(f"{service}: {body['rows']} rows to re-publish to {body['stream']}",
                          highlight=False)
    finally:
        await client.close()
        await view.stop()
        await nc.close()
    return code

"""``mercato keys``: identity's user-token signing keys — list them, rotate them.

The CLI opens no service's database: identity rotates its own keys
(``POST /internal/keys/rotate``) and lists them (``GET /internal/keys``), called through
the registry with the CLI's workload token, as ``mercato projections`` calls orders.
The rules (a new key signs after a short lead; the old one verifies until every token it
signed has expired, then retires) are docs/zero-trust.md section 5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

keys_app = typer.Typer(help=(
    "Identity's signing keys for user access tokens (EdDSA, published at "
    "/.well-known/jwks.json): list them, or rotate to a new one without signing anyone "
    "out."), no_args_is_help=True, add_completion=False)

CALL_TIMEOUT = 10.0
STATE_STYLE = {"active": "green", "pending": "cyan", "verify-only": "yellow",
               "retired": "dim"}


@keys_app.command("list", help=(
    "List identity's signing keys, oldest first: key id, state (pending: published, not "
    "signing yet; active: signs new tokens; verify-only: verifies tokens it signed until "
    "they expire; retired: gone from the JWKS, private half erased), and when each was "
    "created, signs from, and retires."))
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print identity's answer as JSON.")]
    = False,
) -> None:
    """List the signing keys and their states."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.common import console
    from mercato.cli.common import run as run_command

    raise typer.Exit(run_command(call_identity(load_settings(), console(), "GET",
                                               "/internal/keys", as_json=as_json)))


@keys_app.command("rotate", help=(
    "Rotate the signing key: identity adds a new key, publishes it in its JWKS at once "
    "and signs with it a few seconds later (once every replica and verifier can know "
    "it); the current key then signs nothing but keeps verifying the tokens it signed "
    "until they have expired (MERCATO_ACCESS_TOKEN_TTL plus clock skew), and is then "
    "retired: dropped from the JWKS, its private half erased. Nobody is signed out. "
    "Refused (exit 1) while a previous rotation's key is still pending."))
def keys_rotate(
    as_json: Annotated[bool, typer.Option("--json", help="Print identity's answer as JSON.")]
    = False,
) -> None:
    """Rotate to a new signing key without downtime."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.common import console
    from mercato.cli.common import run as run_command

    raise typer.Exit(run_command(call_identity(load_settings(), console(), "POST",
                                               "/internal/keys/rotate", as_json=as_json)))


async def call_identity(settings, console, method: str, path: str, *,
                        as_json: bool = False) -> int:
    """Call identity's key route as the CLI and print its answer; 1 if it refused."""
    from mercato.chassis.calls.client import ServiceClient
    from mercato.chassis.calls.registry import RegistryView
    from mercato.platform.audit import record
    from mercato.platform.running import cli_identity, cli_ssl, connect, login, running_state

    data_dir = Path(settings.data_dir)
    state = running_state(data_dir)
    identity = cli_identity(settings)
    nc = await connect(state["nats_url"], login(data_dir))
    view = RegistryView(nc, settings.registry_ttl)
    client = ServiceClient(view, identity, timeout=CALL_TIMEOUT, ssl=cli_ssl(data_dir))
    try:
        await view.start()
        await client.start()
        answer: dict = {}
        code = await ask(client, console, method, path, as_json=as_json, answer=answer)
        if method != "GET":  # a change of state: in the audit trail (platform/audit.py)
            new = answer.get("new", {}).get("kid") if code == 0 else None
            await record(nc.jetstream(), "mercato keys rotate", code,
                         f"new key {new}" if new else answer.get("detail", ""),
                         say=console.print)
        return code
    finally:
        await client.close()
        await view.stop()
        await nc.close()


async def ask(client, console, method: str, path: str, *, as_json: bool = False,
              answer: dict | None = None) -> int:
    """Ask identity, print its answer (kept in ``answer`` too); 0, or 1 if refused."""
    import json

    from mercato.chassis.calls.client import Unavailable

    try:
        reply = await client.call("identity", method, path, timeout=CALL_TIMEOUT)
    except Unavailable as exc:
        console.print(f"[red]error:[/] identity cannot be reached: {exc}", highlight=False)
        return 1
    try:
        body = reply.json() or {}
    except ValueError:
        body = {"detail": reply.body[:200].decode("utf-8", "replace")}
    if answer is not None:
        answer.update(body)
    if not reply.ok:
        console.print(f"[red]error:[/] identity answered {reply.status}: "
                      f"{body.get('detail', '')}", highlight=False)
        return 1
    if as_json:
        console.print_json(json.dumps(body))
    elif "keys" in body:
        console.print(key_table(body["keys"]))
    else:
        for line in describe_rotation(body):
            console.print(line, highlight=False)
    return 0


def key_table(keys: list[dict]):
    from rich.table import Table

    table = Table(title="identity signing keys (oldest first)")
    for column in ("kid", "state", "created", "signs from", "retires"):
        table.add_column(column, no_wrap=column == "kid")
    for key in keys:
        style = STATE_STYLE.get(key["state"], "")
        table.add_row(key["kid"], f"[{style}]{key['state']}[/]" if style else key["state"],
                      key["created_at"], key["activates_at"],
                      key.get("retire_after") or "-")
    return table


def describe_rotation(body: dict) -> list[str]:
    new = body["new"]
    lines = [f"[green]rotated[/]: new key {new['kid']} is published now and signs new "
             f"tokens from {new['activates_at']}"]
    previous = body.get("previous")
    if previous:
        lines.append(f"  previous key {previous['kid']} then verifies the tokens it signed "
                     f"until {previous['retire_after']}, and retires")
    return lines

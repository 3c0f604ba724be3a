"""``mercato faults``: break the links of a platform started with
``mercato up --fault-proxies`` on purpose, and heal them (docs/chaos.md §2). The commands
talk to the running supervisor over its control socket."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mercato.cli.common import console as _console
from mercato.cli.common import run as _run

faults_app = typer.Typer(
    help="Fault proxies of a platform started with `mercato up --fault-proxies`: list "
         "them, set toxics (latency, drop, reset, blackhole, stall...), heal them.",
    no_args_is_help=True, add_completion=False)

SET_HELP = (
    "Set toxics on the proxies matching PROXY (a name or a pattern: to-payments-1, "
    "'to-payments-*', 'db-*', 'nats-orders'), on connections already open too.\n\n"
    "Toxics are NAME=VALUE: latency_ms, jitter_ms, bandwidth (bytes/s), slice_size, "
    "slice_delay_ms, reset_after (bytes), close_after (bytes), blackhole=true, stall=true; "
    "they apply to --direction (both by default). drop=SHARE (0 to 1) closes that share "
    "of new connections; enabled=false takes the link down.\n\n"
    "Examples: mercato faults set 'to-payments-*' latency_ms=300 jitter_ms=100 ; "
    "mercato faults set to-payments-1 blackhole=true --direction upstream ; "
    "mercato faults set db-orders stall=true"
)
LINK_WIDE = ("drop", "enabled")


def parse_toxics(pairs: list[str], direction: str) -> dict:
    """``["latency_ms=50", "drop=0.2"]`` -> the control socket's ``set`` object;
    ``typer.BadParameter`` names a pair that is not NAME=VALUE."""
    if direction not in ("upstream", "downstream", "both"):
        raise typer.BadParameter("upstream, downstream or both", param_hint="'--direction'")
    toxics: dict = {}
    link: dict = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE (e.g. latency_ms=200)")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise typer.BadParameter(f"{pair!r}: the value is a number, true or false") \
                from None
        (link if name in LINK_WIDE else toxics)[name] = value
    sides = ("upstream", "downstream") if direction == "both" else (direction,)
    return {**link, **({side: toxics for side in sides} if toxics else {})}


def _request(op: str, **args) -> object:
    """One request to the running supervisor's control socket; exit 1 with its refusal."""
    from mercato.chassis.settings import load_settings
    from mercato.operations.control_client import ControlError, request, socket_path

    async def call() -> tuple[int, object]:
        try:
            return 0, await request(socket_path(load_settings().data_dir), op, **args)
        except ControlError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1, None

    outcome = _run(call())  # 1 alone: no platform runs there
    if not isinstance(outcome, tuple) or outcome[0]:
        raise typer.Exit(1)
    return outcome[1]


@faults_app.command("list")
def faults_list(as_json: Annotated[bool, typer.Option("--json", help="JSON, one array.")]
                = False) -> None:
    """Every fault proxy: its link, what is in force, and what went through it."""
    from rich.table import Table

    proxies = _request("faults")
    if as_json:
        typer.echo(json.dumps(proxies, indent=2))
        return
    table = Table("proxy", "listen", "upstream", "toxics", "open", "accepted", "dropped",
                  "reset")
    for p in proxies:
        c = p["counts"]
        table.add_row(p["name"], p["listen"], p["upstream"],
                      json.dumps(p["toxics"]) if p["toxics"] else "-", str(p["open"]),
                      str(c["accepted"]), str(c["dropped"]), str(c["reset"]))
    _console().print(table)


@faults_app.command("set", help=SET_HELP)
def faults_set(
    proxy: Annotated[str, typer.Argument(help="A proxy's name or a pattern.")],
    toxics: Annotated[list[str], typer.Argument(help="NAME=VALUE ...")],
    direction: Annotated[str, typer.Option(
        "--direction", help="upstream (to the server), downstream (back) or both.")]
    = "both",
) -> None:
    for row in _request("fault", proxy=proxy, set=parse_toxics(toxics, direction)):
        typer.echo(f"{row['name']}: {json.dumps(row['toxics']) if row['toxics'] else 'healthy'}")


@faults_app.command("heal")
def faults_heal(proxy: Annotated[str, typer.Argument(help="A name or pattern; all if none.")]
                = "*") -> None:
    """Clear every toxic of the proxies matching PROXY (all of them by default)."""
    healed = _request("heal", proxy=proxy)
    typer.echo(f"healed {len(healed)} proxies" + (f": {', '.join(healed)}" if healed else ""))

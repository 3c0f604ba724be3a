"""The ``mercato`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from mercato.chassis.settings import MissingSettings
from mercato.cli.certs import CERTS_HELP, certs_command
from mercato.cli.chaos import CHAOS_HELP, chaos
from mercato.cli.common import console as _console
from mercato.cli.common import run as _run
from mercato.cli.deploy import DEPLOY_HELP, deploy, promote, rollback
from mercato.cli.faults import faults_app
from mercato.cli.keys import keys_app
from mercato.cli.load import LOAD_HELP, load
from mercato.cli.ops_commands import dlq_app, events_app, projections_app
from mercato.cli.outbox import outbox_app
from mercato.cli.status import status
from mercato.cli.up import serve, up


class _Cli(typer.Typer):
    """Every command, its settings refused in one line each, not a pydantic traceback:
    settings are read inside each command (and ops_commands'), so the one place that sees
    all of their failures is the call of the app itself. Exit 2, as for a bad option."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            if not exc.title.endswith("Settings"):  # a bug's ValidationError: its traceback
                raise
            for line in settings_errors(exc):
                typer.echo(f"error: {line}", err=True)
            sys.exit(2)
        except MissingSettings as exc:  # a production process not given what it reads
            typer.echo(f"error: {exc}", err=True)
            sys.exit(2)


def settings_errors(exc: ValidationError) -> list[str]:
    """One line per refused setting, naming its MERCATO_* variable (a value is not shown:
    it may be a secret)."""
    lines = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:  # a field's own check; otherwise the model's, which names them
            name = "MERCATO_" + "_".join(str(p) for p in error["loc"]).upper()
            message = f"{name}: {message}"
        lines.append(message)
    return lines


app = _Cli(help="Mercato: an e-commerce platform built as real microservices.",
           no_args_is_help=True, add_completion=False)


app.command("up")(up)
app.command("serve")(serve)
app.command("status")(status)
app.command("deploy", help=DEPLOY_HELP)(deploy)
app.command("rollback")(rollback)
app.command("promote")(promote)
app.command("load", help=LOAD_HELP)(load)
app.command("chaos", help=CHAOS_HELP)(chaos)


VERIFY_HELP = (
    "Check the platform's invariants from the services' own data, one line each with its "
    "figures and the first violations; exit 1 if any is violated.\n\n"
    "1 stock conserved, 2 sold matches confirmed orders, 3 money conserved, 4 no order "
    "charged twice, 5 nothing stuck, 6 every event consumed. Facts come from every "
    "service's GET /internal/facts (with a service token made from the data dir's service "
    "secret) and from NATS (every durable consumer's backlog). Right after a load run, "
    "sagas and events are still in flight: --wait-idle re-checks until all hold."
)


@app.command(help=VERIFY_HELP)
def verify(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the checks as one JSON object.")] = False,
    wait_idle: Annotated[float, typer.Option(
        "--wait-idle", metavar="SECONDS", min=0,
        help="Re-check until every invariant holds or SECONDS have passed.")] = 0.0,
) -> None:
    """Check the platform's invariants (help: VERIFY_HELP)."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.verify import verify_platform

    raise typer.Exit(_run(verify_platform(load_settings(), _console(), wait_idle=wait_idle,
                                          as_json=as_json)))


TRACE_HELP = (
    "Show one trace of the running platform as a waterfall: a row per span, indented under "
    "its parent, with its service, a bar placed by its start and duration within the "
    "trace, and its duration in ms; the slowest span (below the root) is highlighted, "
    "error spans are red.\n\n"
    "REF is a trace id (32 hex digits, e.g. from an answer's traceparent header: "
    "00-<trace id>-<span id>-01) or an order id (its newest trace). Read from the embedded "
    "trace store that `mercato up` runs (docs/trace-store.md); exit 1 when the platform is "
    "not running or nothing is found."
)


@app.command(help=TRACE_HELP)
def trace(ref: Annotated[str, typer.Argument(metavar="REF",
                                             help="A trace id or an order id.")]) -> None:
    """Show a trace as a waterfall (help: TRACE_HELP)."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.trace import show_trace

    settings = load_settings()
    raise typer.Exit(_run(show_trace(Path(settings.data_dir), ref, _console())))


@app.command()
def logs(trace_id: Annotated[str, typer.Option(
        "--trace", metavar="TRACE_ID",
        help="Only the lines written for this trace (32 hex digits).")]) -> None:
    """Print the log lines of every process (<data dir>/logs/*.log) that carry one trace
    id, merged in time order, each after its process's name. Works on a stopped platform
    too: it reads the files."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.logs import print_trace_lines

    settings = load_settings()
    raise typer.Exit(print_trace_lines(Path(settings.data_dir) / "logs", trace_id,
                                       typer.echo))


app.add_typer(events_app, name="events")
app.add_typer(dlq_app, name="dlq")
app.add_typer(projections_app, name="projections")
app.add_typer(outbox_app, name="outbox")
app.add_typer(keys_app, name="keys")
app.add_typer(faults_app, name="faults")
app.command("certs", help=CERTS_HELP)(certs_command)

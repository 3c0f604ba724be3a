"""The ``mercato`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from mercato.cli.certs import CERTS_HELP, certs_command
from mercato.cli.common import console as _console
from mercato.cli.common import run as _run
from mercato.cli.keys import keys_app
from mercato.cli.ops_commands import dlq_app, events_app, projections_app


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


@app.command()
def up(
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the demo catalog.")]
    = False,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 90.0,
    replicas: Annotated[str | None, typer.Option(
        "--replicas", metavar="SERVICE=N,...",
        help="Run N instances (1 to 8) of these services, e.g. catalog=3,orders=2; the "
             "others run one. Instances of a service share its database file.")] = None,
) -> None:
    """Start NATS, every service and the gateway; supervise them until Ctrl-C."""
    import uvloop

    from mercato.chassis.settings import load_settings
    from mercato.cli.replicas import parse_replicas
    from mercato.cli.up import UpError, console, run_up

    try:
        counts = parse_replicas(replicas)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--replicas'") from None
    try:
        settings = load_settings()
        code = uvloop.run(run_up(settings, seed=not no_seed, ready_timeout=ready_timeout,
                                 replicas=counts))
    except UpError as exc:
        console.print(f"[red]error:[/] {exc}")
        code = 1
    raise typer.Exit(code)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(
        help="identity, catalog, ..., gateway, or traces (the embedded trace store)")],
    instance: Annotated[int, typer.Option(help="Instance number, shown in ps.")] = 1,
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 0,
    fd: Annotated[int | None, typer.Option(
        help="Serve on this inherited listening socket instead of binding a port "
             "(mercato up passes the gateway the port it holds).")] = None,
) -> None:
    """Run one instance of a service, the gateway or the trace store (the supervisor
    calls this). `mercato serve traces --port P` receives OTLP/HTTP trace exports on
    POST /v1/traces and answers GET /traces (docs/trace-store.md)."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.catalog import GATEWAY, SERVICES, TRACES, load_builder

    if service == TRACES:
        from mercato.tracestore import StoreSettings, serve_traces

        if not port:
            raise typer.BadParameter("the trace store needs --port (mercato up picks one)")
        serve_traces(StoreSettings(), port)
        return
    settings = load_settings()
    if service == GATEWAY:
        from mercato.gateway.bootstrap import serve_gateway

        serve_gateway(settings, instance=instance, port=port or settings.gateway_port, fd=fd)
        return
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    from mercato.chassis.web.serve import serve_service

    if fd is not None:
        raise typer.BadParameter("--fd is for the gateway; a service binds its own port")
    serve_service(service, load_builder(service), settings, instance=instance, port=port)


@app.command()
def status() -> None:
    """Show every registered instance of a running platform (from the registry): service,
    instance id, pid, address, version, health and last heartbeat; and the services with
    fewer ready instances than `mercato up` started."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.running import NotRunning, expected_instances, login, running_state
    from mercato.cli.status import show_status

    settings = load_settings()
    try:
        state = running_state(Path(settings.data_dir))
    except NotRunning as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(_run(show_status(state["nats_url"], settings,
                                      expected=expected_instances(state),
                                      login=login(Path(settings.data_dir)))))


DEPLOY_HELP = (
    "Deploy a new version of one service on the running platform without downtime "
    "(docs/deployments.md). New instances get MERCATO_VERSION=VERSION; old ones are "
    "drained (out of the registry, in-flight requests finished) before they stop.\n\n"
    "rolling: one new instance, once ready one old one stopped, and so on. blue-green: as "
    "many new as old, all traffic switched at once when all are ready; the old ones stay "
    "up idle for an instant `mercato rollback`, `mercato promote` stops them. canary: one "
    "new instance takes --weight percent of the traffic (and every request with "
    "`X-Canary: always`); `mercato promote` replaces the old ones, `mercato rollback` "
    "removes it."
)


def _deploy_action(action: str, service: str, **args) -> None:
    from mercato.chassis.settings import load_settings
    from mercato.cli.deploy import run

    raise typer.Exit(_run(run(load_settings(), typer.echo, action, service, **args)))


def _check_deploy(service: str, version: str | None = None, strategy: str | None = None,
                  weight: int | None = None) -> None:
    """Bad arguments: exit 2 with a message naming the problem."""
    from mercato.cli.deploy import check_args

    problem = check_args(service, version, strategy, weight)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)


@app.command(help=DEPLOY_HELP)
def deploy(
    service: Annotated[str, typer.Argument(help="The service: catalog, orders, ...")],
    version: Annotated[str, typer.Option("--version", help="The new version's label.")],
    strategy: Annotated[str, typer.Option(
        "--strategy", help="rolling, blue-green or canary.")] = "rolling",
    weight: Annotated[int | None, typer.Option(
        "--weight", help="canary only: the percent of traffic (1 to 99) to the new version; "
                         "default 10.")] = None,
) -> None:
    """Deploy a new version of a service (help: DEPLOY_HELP)."""
    _check_deploy(service, version, strategy, weight)
    _deploy_action("deploy", service, version=version, strategy=strategy,
                   weight=10 if weight is None else weight)


@app.command()
def rollback(service: Annotated[str, typer.Argument(help="The service being deployed.")]
             ) -> None:
    """Undo a blue-green or canary deployment in progress: all traffic back to the old
    version at once, then the new instances drained and stopped."""
    _check_deploy(service)
    _deploy_action("rollback", service)


@app.command()
def promote(service: Annotated[str, typer.Argument(help="The service being deployed.")]
            ) -> None:
    """Finish a blue-green or canary deployment in progress: the new version takes all
    traffic and the old instances are drained and stopped."""
    _check_deploy(service)
    _deploy_action("promote", service)


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
app.add_typer(keys_app, name="keys")
app.command("certs", help=CERTS_HELP)(certs_command)

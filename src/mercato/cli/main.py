"""The ``mercato`` command line."""

from __future__ import annotations

import asyncio
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
    from mercato.chassis.web.serve import serve_service

    serve_service(service, load_builder(service), settings, instance=instance, port=port)


@app.command()
def status() -> None:
    """Show every registered instance of a running platform (from the registry)."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.status import show_status

    settings = load_settings()
    nats_url = _nats_url(settings)
    raise typer.Exit(asyncio.run(show_status(nats_url, settings)))


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


def _nats_url(settings) -> str:
    """The running platform's NATS URL, from ``<data dir>/run/state.json``; exit 1 if none."""
    from mercato.cli.running import NotRunning, running_state

    try:
        return running_state(Path(settings.data_dir))["nats_url"]
    except NotRunning as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _run(coro) -> int:
    """Run a command's coroutine; an unreachable platform is one clear line and exit 1."""
    from mercato.cli.running import NotRunning

    try:
        return asyncio.run(coro)
    except NotRunning as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1


events_app = typer.Typer(help="Integration events: follow them live, or document them.",
                         no_args_is_help=True, add_completion=False)
app.add_typer(events_app, name="events")


TAIL_HELP = (
    "Follow integration events as they flow, until Ctrl-C.\n\n"
    "Connects to the NATS server of the platform that `mercato up` runs on "
    "MERCATO_DATA_DIR (from <data dir>/run/state.json) and follows every event stream "
    "(MERCATO_<SERVICE>, not the dead letters) with an ephemeral ordered consumer, which "
    "leaves the services' own consumers untouched. Each event is one line: when it "
    "occurred (UTC), its publisher, its type, the ids in its payload, and its correlation "
    "id (the request id of the call that caused it).\n\n"
    "Examples: mercato events tail --subject 'mercato.orders.>' ; "
    "mercato events tail --from-start --json | jq .payload"
)


@events_app.command("tail", help=TAIL_HELP)
def events_tail(
    subject: Annotated[str, typer.Option(
        "--subject", "-s", metavar="PATTERN",
        help="Only events whose subject matches this NATS pattern "
             "(`*` one token, `>` the rest), e.g. mercato.orders.> or "
             "mercato.*.OrderConfirmed.")] = "mercato.>",
    from_start: Annotated[bool, typer.Option(
        "--from-start",
        help="Begin with the oldest event each stream still keeps (7 days), stream by "
             "stream, instead of only new ones.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print each raw envelope as one line of JSON.")] = False,
) -> None:
    """Follow integration events as they flow, until Ctrl-C (help: TAIL_HELP)."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.events import tail_events

    nats_url = _nats_url(load_settings())
    raise typer.Exit(_run(tail_events(nats_url, subject=subject, from_start=from_start,
                                      as_json=as_json)))


@events_app.command("catalog", help=(
    "Generate docs/events.md from mercato.contracts and the services' subscriptions.py: "
    "per event its subject, stream, publisher, consumers, description (the class "
    "docstring) and payload fields with their types. --check writes nothing and exits 1 "
    "when a file on disk differs (a unit test runs it)."))
def events_catalog(
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 if a generated file on disk differs.")] = False,
    asyncapi: Annotated[bool, typer.Option(
        "--asyncapi", help="Also generate docs/asyncapi.yaml (AsyncAPI 3.0).")] = False,
    docs: Annotated[Path | None, typer.Option(
        help="The docs folder (default: the repository's docs/).")] = None,
) -> None:
    """Generate docs/events.md (and docs/asyncapi.yaml) from the contracts."""
    from mercato.cli.event_catalog import docs_dir, generated_files, out_of_date

    files = generated_files(docs or docs_dir(), asyncapi=asyncapi)
    stale = out_of_date(files)
    if check:
        for path in stale:
            typer.echo(f"{path} is out of date: run `mercato events catalog"
                       f"{' --asyncapi' if asyncapi else ''}`", err=True)
        if not stale:
            typer.echo(f"up to date: {', '.join(str(p) for p in files)}")
        raise typer.Exit(1 if stale else 0)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        typer.echo(f"{'wrote' if path in stale else 'unchanged'} {path}")


dlq_app = typer.Typer(help="Dead letters: events a consumer gave up on, with the error.",
                      no_args_is_help=True, add_completion=False)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(help="Show at most the newest N.")] = 100,
) -> None:
    """List dead letters, oldest first: sequence, consumer, event, attempts, error."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.dlq import show_dead_letters

    nats_url = _nats_url(load_settings())
    raise typer.Exit(_run(show_dead_letters(nats_url, _console(), limit)))


@dlq_app.command("replay", help=(
    "Publish a dead letter's event to its subject again, once its cause is fixed. "
    "Consumers that handled the event already skip it (their inbox knows its id); the one "
    "that failed handles it now. The dead letter is then removed from the dead-letter "
    "stream. An unknown sequence exits 1."))
def dlq_replay(
    seq: Annotated[int, typer.Argument(help="The dead letter's sequence (`mercato dlq list`).")],
) -> None:
    """Replay one dead letter."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.dlq import replay

    nats_url = _nats_url(load_settings())
    raise typer.Exit(_run(replay(nats_url, seq, _console())))


projections_app = typer.Typer(help="Read models: rebuild them from the event store.",
                              no_args_is_help=True, add_completion=False)
app.add_typer(projections_app, name="projections")


@projections_app.command("rebuild", help=(
    "Empty every read model of a service and replay its whole event store into it, then "
    "print the events replayed and the rows of each read-model table. The running service "
    "does it (POST /internal/projections/rebuild, with a service token, through the "
    "registry) in one transaction: readers see the old rows or the new ones. Exits 1 if a "
    "service could not."))
def projections_rebuild(
    service: Annotated[list[str] | None, typer.Option(
        "--service", metavar="SERVICE",
        help="A service with read models (orders); repeat for several. Default: all.")]
    = None,
) -> None:
    """Rebuild read models from the event store."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.projections import PROJECTING, rebuild_projections

    chosen = service or list(PROJECTING)
    for name in chosen:
        if name not in PROJECTING:
            raise typer.BadParameter(f"{name!r} keeps no read models; one of "
                                     f"{', '.join(PROJECTING)}", param_hint="--service")
    raise typer.Exit(_run(rebuild_projections(load_settings(), _console(), chosen)))


def _console():
    from rich.console import Console

    return Console(width=max(Console().width, 160))

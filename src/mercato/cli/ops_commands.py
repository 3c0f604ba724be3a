"""The ``mercato events``, ``mercato dlq`` and ``mercato projections`` command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mercato.cli.common import console as _console
from mercato.cli.common import nats_url as _nats_url
from mercato.cli.common import run as _run

events_app = typer.Typer(help="Integration events: follow them live, or document them.",
                         no_args_is_help=True, add_completion=False)


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

    nats_url, login = _nats_url(load_settings())
    raise typer.Exit(_run(tail_events(nats_url, login=login, subject=subject, from_start=from_start,
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
    from mercato.cli.event_render import docs_dir, generated_files, out_of_date

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


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(help="Show at most the newest N.")] = 100,
) -> None:
    """List dead letters, oldest first: sequence, consumer, event, attempts, error."""
    from mercato.chassis.settings import load_settings
    from mercato.cli.dlq import show_dead_letters

    nats_url, login = _nats_url(load_settings())
    raise typer.Exit(_run(show_dead_letters(nats_url, _console(), limit, login=login)))


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

    nats_url, login = _nats_url(load_settings())
    raise typer.Exit(_run(replay(nats_url, seq, _console(), login=login)))


projections_app = typer.Typer(help="Read models: rebuild them from the event store.",
                              no_args_is_help=True, add_completion=False)


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

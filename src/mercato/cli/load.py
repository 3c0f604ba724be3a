"""``mercato load``: shoppers on a running platform (src/mercato/load/), its options, the
gateway it finds, and its exit code: 0 when the run completed (errors counted or not),
2 on a bad option, no platform or an empty catalog, 1 when no session succeeded."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

LOAD_HELP = (
    "Run realistic shoppers against a running platform through the gateway's public API, "
    "with a live view and a final table.\n\n"
    "Each session browses the catalog (sometimes a category), searches for a word of a "
    "product's name, views a product, puts 1-3 products in the cart, checks out (from the "
    "cart or with the items; card tok_ok, some tok_decline, a few tok_error), cancels a "
    "share of the orders right away, and follows the order until it is terminal. Customers "
    "are registered up front and reused; the catalog is used as it is.\n\n"
    "Open loop (--rate, the default): sessions arrive at RATE per second (Poisson, from "
    "--seed) whether or not earlier ones finished, latency measured from the intended "
    "start; arrivals beyond --max-in-flight are dropped and counted. Closed loop (--users): "
    "each user shops again after --think seconds.\n\n"
    "Exit 0 when the run completed, even with errors; 2 on bad options, no platform or an "
    "empty catalog; 1 when no session succeeded."
)


def load(
    url: Annotated[str | None, typer.Option(
        "--url", help="The gateway's base URL (default: the running platform's gateway, "
                      "from <data dir>/run/state.json).")] = None,
    rate: Annotated[float | None, typer.Option(
        "--rate", min=0.01, help="Open loop: sessions started per second (default 5).")] = None,
    users: Annotated[int | None, typer.Option(
        "--users", min=1, help="Closed loop: this many users shopping back to back.")] = None,
    duration: Annotated[float, typer.Option(
        "--duration", min=0.1, help="Seconds during which sessions start.")] = 30.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice.")] = 1,
    cancel_share: Annotated[float, typer.Option(
        "--cancel-share", min=0.0, max=1.0,
        help="Share of orders cancelled right after placing.")] = 0.1,
    decline_share: Annotated[float, typer.Option(
        "--decline-share", min=0.0, max=1.0, help="Share of orders paid with tok_decline.")
    ] = 0.10,
    error_share: Annotated[float, typer.Option(
        "--error-share", min=0.0, max=1.0, help="Share of orders paid with tok_error.")
    ] = 0.05,
    max_in_flight: Annotated[int, typer.Option(
        "--max-in-flight", min=1, help="Open loop: sessions running at most; arrivals "
                                       "beyond are dropped and counted.")] = 64,
    think: Annotated[float, typer.Option(
        "--think", min=0.0, help="Closed loop: seconds between a user's sessions.")] = 1.0,
    customers: Annotated[int | None, typer.Option(
        "--customers", min=1, help="Customers registered up front and reused (at least "
                                   "--users). Default: at least 20, and enough that each "
                                   "buys about 5 units of a product in the run, so that "
                                   "orders' limit of units per customer and product a day "
                                   "(20) is not what the run measures.")] = None,
    follow_timeout: Annotated[float, typer.Option(
        "--follow-timeout", min=0.5, help="Seconds an order is followed before it counts "
                                          "as still pending.")] = 30.0,
    as_json: Annotated[bool, typer.Option(
        "--json", help="No live view; print one JSON object of the figures at the end.")
    ] = False,
) -> None:
    """Run shoppers against a running platform (help: LOAD_HELP)."""
    from mercato.load.plan import Mix
    from mercato.load.runner import LoadConfig

    if rate is not None and users is not None:
        _fail("give --rate (open loop) or --users (closed loop), not both")
    try:
        mix = Mix(decline_share=decline_share, error_share=error_share,
                  cancel_share=cancel_share)
    except ValueError as exc:
        _fail(str(exc))
    config = LoadConfig(url=(url or _gateway_url()).rstrip("/"), duration=duration,
                        rate=None if users else (rate or 5.0), users=users, seed=seed,
                        mix=mix, max_in_flight=max_in_flight, think=think,
                        customers=customers, follow_timeout=follow_timeout)
    try:
        code = asyncio.run(_main(config, as_json))
    except KeyboardInterrupt:  # the figures so far were printed
        code = 130
    raise typer.Exit(code)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _gateway_url() -> str:
    from mercato.chassis.settings import load_settings
    from mercato.platform.running import NotRunning, running_state

    try:
        state = running_state(Path(load_settings().data_dir))
    except NotRunning as exc:
        _fail(f"{exc} (or give --url)")
    if not state.get("gateway_url"):
        _fail("the running platform's state has no gateway_url; give --url")
    return state["gateway_url"]


async def _main(config, as_json: bool) -> int:
    from rich.console import Console

    from mercato.load.display import live_view
    from mercato.load.runner import NoPlatform, NoProducts, Run, SetupFailed

    run, err = Run(config), Console(stderr=True)
    mode = f"users {config.users}" if config.users else f"rate {config.rate:g}/s"
    title = f"mercato load {config.url} ({mode}, seed {config.seed})"
    if not as_json:
        err.print(f"{title}: reading the catalog, registering customers")
    view = None if as_json else asyncio.create_task(
        live_view(run.stats, lambda: run.started, config.duration, title, err))
    try:
        await run.execute()
    except asyncio.CancelledError:  # Ctrl-C: what was measured until then
        await _stop(view)
        if run.pool is not None:
            _report(run, config, title, as_json)
        raise
    except (NoPlatform, NoProducts) as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2
    except SetupFailed as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    finally:
        await _stop(view)
    return 0 if _report(run, config, title, as_json)["sessions"]["completed"] else 1


async def _stop(view: asyncio.Task | None) -> None:
    if view is not None and not view.done():
        view.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await view


def _report(run, config, title: str, as_json: bool) -> dict:
    """Print the figures (the table, or one JSON object) and return them."""
    from rich.console import Console

    from mercato.load.display import figures_table

    snap = run.stats.snapshot(run.clock() - run.started)
    snap["config"] = {"url": config.url, "mode": "closed" if config.users else "open",
                      "rate": config.rate, "users": config.users, "duration": config.duration,
                      "seed": config.seed, "cancel_share": config.mix.cancel_share,
                      "customers": len(run.pool.customers)}
    if as_json:
        print(json.dumps(snap))
    else:
        Console().print(figures_table(snap, title, config.duration))
    return snap

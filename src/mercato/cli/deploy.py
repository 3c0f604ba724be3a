"""``mercato deploy``, ``rollback`` and ``promote``: the commands. Their arguments are
checked and the steps run by ``mercato.platform.deploy`` (which drives
``mercato.operations.deployer`` through the running platform's control socket)."""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.cli.common import run as _run

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
    from mercato.platform.deploy import run

    raise typer.Exit(_run(run(load_settings(), typer.echo, action, service, **args)))


def _check_deploy(service: str, version: str | None = None, strategy: str | None = None,
                  weight: int | None = None) -> None:
    """Bad arguments: exit 2 with a message naming the problem."""
    from mercato.platform.deploy import check_args

    problem = check_args(service, version, strategy, weight)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)


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


def rollback(service: Annotated[str, typer.Argument(help="The service being deployed.")]
             ) -> None:
    """Undo a blue-green or canary deployment in progress: all traffic back to the old
    version at once, then the new instances drained and stopped."""
    _check_deploy(service)
    _deploy_action("rollback", service)


def promote(service: Annotated[str, typer.Argument(help="The service being deployed.")]
            ) -> None:
    """Finish a blue-green or canary deployment in progress: the new version takes all
    traffic and the old instances are drained and stopped."""
    _check_deploy(service)
    _deploy_action("promote", service)

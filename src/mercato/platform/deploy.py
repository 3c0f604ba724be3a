"""``mercato deploy / rollback / promote``: zero-downtime deployments of one service on the
running platform (docs/deployments.md).

This module checks the arguments and connects; the steps themselves are
``mercato.operations.deployer``, which the console's Promote and Rollback run too. A blue-green
or canary deployment stays "in progress" (``<data dir>/run/deployments.json``) until
``promote`` or ``rollback``.
"""

from __future__ import annotations

import re
from pathlib import Path

from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.calls.routing import open_bucket
from mercato.chassis.settings import Settings
from mercato.operations.deployer import SETTLE, Deployer, DeployError, Say
from mercato.platform.audit import record
from mercato.platform.catalog import SERVICES
from mercato.platform.running import SUPERVISOR, connect, login, running_state

__all__ = ["SETTLE", "STRATEGIES", "DeployError", "Deployer", "check_args", "run"]

STRATEGIES = ("rolling", "blue-green", "canary")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$")


def check_args(service: str, version: str | None, strategy: str | None,
               weight: int | None) -> str | None:
    """What is wrong with the command's arguments (exit 2), or None."""
    if service not in SERVICES:
        return f"unknown service {service!r}; one of {', '.join(SERVICES)}"
    if strategy is not None and strategy not in STRATEGIES:
        return f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}"
    if version is not None and not VERSION.match(version):
        return (f"version {version!r}: 1 to 32 letters, digits, '.', '_', '+' or '-', "
                "starting with a letter or digit")
    if weight is not None:
        if strategy != "canary":
            return "--weight is for --strategy canary only"
        if not 1 <= weight <= 99:
            return f"--weight {weight}: the canary's share must be 1 to 99 (percent)"
    return None


def _data_dir(settings: Settings) -> Path:
    return Path(settings.data_dir).resolve()


async def run(settings: Settings, say: Say, action: str, service: str, **args) -> int:
    """Run ``deploy``, ``rollback`` or ``promote`` against the running platform: 0 when
    done, 1 (with the reason said) when it could not."""
    from mercato.operations.control_client import ControlError

    data_dir = _data_dir(settings)
    # the deploy tooling writes the routing table: it logs in as the supervisor does
    nc = await connect(running_state(data_dir)["nats_url"], login(data_dir, SUPERVISOR))
    view = RegistryView(nc, settings.registry_ttl)
    try:
        await view.start()
        kv = await open_bucket(nc.jetstream())
        deployer = Deployer(data_dir, nc, kv, view, say)
        command = f"mercato {action} {service}"
        try:
            await getattr(deployer, action)(service, **args)
        except (DeployError, ControlError) as exc:
            say(f"error: {exc}")
            await record(nc.jetstream(), command, 1, str(exc), say)
            return 1
        await record(nc.jetstream(), command, 0,
                     " ".join(f"{k}={v}" for k, v in args.items() if v is not None), say)
        return 0
    finally:
        await view.stop()
        await nc.close()

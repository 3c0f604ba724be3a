"""When the gateway is ready: it can route, i.e. it is connected to the registry, its view
of it is loaded, and every service it routes to has at least one ready instance.

Being connected is not enough: right after start (or after a service's only instance
died and its entry expired) the gateway would say 200 and then answer 503 for that
service's routes. ``mercato up`` waits for this readiness before it says "ready".
"""

from __future__ import annotations

from collections.abc import Iterable

from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.runtime import Runtime
from mercato.gateway.policy import ROUTED_SERVICES


def missing_services(view: RegistryView, services: Iterable[str] = ROUTED_SERVICES
                     ) -> list[str]:
    """The routed services with no ready instance in ``view``, in the order given."""
    return [s for s in services if not view.ready(s)]


async def not_ready(runtime: Runtime) -> str | None:
    """Why the gateway cannot route yet (the 503's detail), or None when it can."""
    if runtime.view is None or not await runtime.is_ready():
        return "the gateway is not connected to the registry"
    missing = missing_services(runtime.view)
    if missing:
        return f"no ready instance of {', '.join(missing)}"
    return None

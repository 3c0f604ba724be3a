"""The ``--replicas`` option of ``mercato up``: how many instances of each service, what
the supervisor calls each one, and the process spec that starts it.

Kept apart from up.py, which opens sockets and processes, so that the option's rules
(read at the command line, before anything starts) are plain functions.
"""

from __future__ import annotations

from pathlib import Path

from mercato.platform.catalog import GATEWAY, SERVICES
from mercato.platform.control import instance_spec
from mercato.platform.supervisor import ProcessSpec

MAX_REPLICAS = 8


def parse_replicas(text: str | None) -> dict[str, int]:
    """How many instances of each service: ``"catalog=3,orders=2"`` -> every service with
    1, except those named. A ValueError says what is wrong with the option."""
    counts = dict.fromkeys(SERVICES, 1)
    named: set[str] = set()
    for part in (text or "").split(","):
        if not part.strip():
            continue
        service, sep, number = (x.strip() for x in part.partition("="))
        if not sep:
            raise ValueError(f"{part.strip()!r} is not SERVICE=N (e.g. catalog=3)")
        if service == GATEWAY:
            raise ValueError("the gateway runs once (it listens on MERCATO_GATEWAY_PORT); "
                             "replicas are for services")
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
        if service in named:
            raise ValueError(f"{service} is named twice")
        if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= MAX_REPLICAS:
            raise ValueError(f"{service}={number}: the number of instances must be a whole "
                             f"number from 1 to {MAX_REPLICAS}")
        named.add(service)
        counts[service] = int(number)
    return counts


def process_names(replicas: dict[str, int]) -> list[str]:
    """The supervisor's name for every service instance: ``catalog-1``, ``catalog-2``..."""
    return [f"{s}-{n}" for s, count in replicas.items() for n in range(1, count + 1)]


def service_specs(replicas: dict[str, int], env: dict[str, str], logs: Path,
                  gateway_fd: int) -> list[ProcessSpec]:
    """One process per instance (``mercato serve catalog --instance 2``, its own log),
    services first, the gateway last (on the listening socket ``gateway_fd``)."""
    return [instance_spec(name, env, logs, gateway_fd)
            for name in [*process_names(replicas), f"{GATEWAY}-1"]]

"""``mercato verify``: the invariants of ARCHITECTURE §3, checked from the services' own
data (``GET /internal/facts`` on each, with a service token) and the broker's consumers.

The checks themselves are pure functions over ``Facts`` in ``invariants``; this module
reads them from a running platform and reports. ``gather`` reads the facts one service
after another (participants first, orders last, so every order a participant has heard of
is known to orders). They are not one snapshot: while orders are in flight a check may
fail for a moment, so ``--wait-idle`` re-checks until all hold or the time is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.messaging.streams import DLQ_STREAM
from mercato.chassis.settings import Settings
from mercato.cli.invariants import Check, Facts, check_all
from mercato.platform.running import cli_identity, cli_ssl, connect, login, running_state

# Loyalty before orders too: every order it credited is then known to orders.
FETCH_ORDER = (("catalog", "identity", "inventory", "loyalty", "payments", "shipping"),
               ("orders",))
SEEN_WITHIN = 15.0  # seconds a fresh registry view may take to list every service


async def see_services(view, seconds: float = SEEN_WITHIN, *,
                       clock: Callable[[], float] = time.monotonic, sleep=asyncio.sleep
                       ) -> list[str]:
    """Wait until this process's fresh registry view lists a ready instance of every
    service verify reads, or ``seconds`` have passed; the services still missing. On a
    busy cluster the view's first sync can take longer than its own start waits, and a
    verify that read too soon reported every service's facts missing, the platform being
    fine. A service really down is still reported (by the checks), after this wait."""
    deadline = clock() + seconds
    wanted = [s for group in FETCH_ORDER for s in group]
    while missing := [s for s in wanted if not view.ready(s)]:
        if clock() >= deadline:
            return missing
        await sleep(0.2)
    return []


async def gather(client: ServiceClient, js) -> Facts:
    facts = Facts()
    for group in FETCH_ORDER:
        for service, (body, why) in zip(
                group, await asyncio.gather(*(_fetch(client, s) for s in group)), strict=True):
            if body is None:
                facts.missing[service] = why
            else:
                facts.services[service] = body
    try:
        facts.consumers, facts.dead_letters = await consumer_positions(js)
    except Exception as exc:  # broker gone or slow: the check says so
        facts.broker_error = f"{type(exc).__name__} {exc}".strip()
    return facts


async def _fetch(client: ServiceClient, service: str) -> tuple[dict | None, str]:
    try:
        reply = await client.call(service, "GET", "/internal/facts", timeout=10)
    except Unavailable as exc:
        return None, exc.reason
    if not reply.ok:
        try:
            detail = (reply.json() or {}).get("detail", "")
        except (ValueError, AttributeError):
            detail = reply.body[:200].decode(errors="replace")
        return None, f"answered {reply.status}: {detail}"
    return reply.json(), ""


async def consumer_positions(js) -> tuple[list[dict], int]:
    """Every durable consumer of the event streams with its backlog, and the number of
    dead letters."""
    consumers, dead = [], 0
    for stream in await js.streams_info():
        name = stream.config.name
        if name == DLQ_STREAM:
            dead = stream.state.messages
        elif name.startswith("MERCATO_"):
            consumers += [{"stream": name, "consumer": c.name,
                           "num_pending": c.num_pending or 0,
                           "num_ack_pending": c.num_ack_pending or 0}
                          for c in await js.consumers_info(name) if c.config.durable_name]
    return sorted(consumers, key=lambda c: (c["stream"], c["consumer"])), dead


async def check_until(read: Callable[[], Awaitable[Facts]], wait_idle: float, *,
                      clock: Callable[[], float] = time.monotonic, sleep=asyncio.sleep,
                      interval: float = 1.0) -> tuple[list[Check], float]:
    """Check, and re-check while something fails and ``wait_idle`` seconds have not
    passed; the last checks and the seconds waited."""
    started = clock()
    while True:
        waited = clock() - started  # before the checks that count
        checks = check_all(await read())
        left = wait_idle - (clock() - started)
        if all(c.ok for c in checks) or left <= 0:
            return checks, waited
        await sleep(min(interval, left))


async def verify_platform(settings: Settings, console: Console, *, wait_idle: float = 0.0,
                          as_json: bool = False) -> int:
    data_dir = Path(settings.data_dir)
    state = running_state(data_dir)
    identity = cli_identity(settings)
    nc = await connect(state["nats_url"], login(data_dir))
    view = RegistryView(nc, settings.registry_ttl)
    client = ServiceClient(view, identity, timeout=10, ssl=cli_ssl(data_dir))
    try:
        await view.start()
        await see_services(view)
        await client.start()
        js = nc.jetstream()
        checks, waited = await check_until(lambda: gather(client, js), wait_idle)
    finally:
        await client.close()
        await view.stop()
        with contextlib.suppress(Exception):
            await nc.close()
    if as_json:
        console.out(as_json_text(checks, waited), highlight=False)
    else:
        report(checks, waited, console)
    return 0 if all(c.ok for c in checks) else 1


def as_json_text(checks: list[Check], waited: float) -> str:
    return json.dumps({"ok": all(c.ok for c in checks), "waited": round(waited, 1),
                       "checks": [asdict(c) for c in checks]})


def report(checks: list[Check], waited: float, console: Console) -> None:
    for c in checks:
        mark = "[green]ok  [/]" if c.ok else "[red]FAIL[/]"
        console.print(f"{mark} {c.number}. {c.name}: {escape(c.figures)}", highlight=False,
                      soft_wrap=True)
        for v in c.violations:
            console.print(f"       [red]-[/] {escape(v)}", highlight=False, soft_wrap=True)
        if c.count > len(c.violations):
            console.print(f"       ... and {c.count - len(c.violations)} more",
                          highlight=False)
    failed = sum(not c.ok for c in checks)
    after = f" (after waiting {waited:.1f}s)" if waited >= 0.05 else ""
    if failed:
        console.print(f"[red]{failed} of {len(checks)} invariants violated[/]{after}")
    else:
        console.print(f"[green]All {len(checks)} invariants hold[/]{after}")

"""``mercato up``: NATS, every service and the gateway, supervised until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from rich.console import Console

from mercato.chassis.calls.registry import RegistryView
from mercato.chassis.identity.keys import keys_dir
from mercato.chassis.messaging.credentials import connect_options
from mercato.chassis.messaging.servers import REPLICAS_ENV, replicas_for
from mercato.chassis.settings import Settings
from mercato.chassis.tls import client_ssl, tls_files
from mercato.chassis.web.serve import bind
from mercato.platform.catalog import GATEWAY, PROVIDER, SERVICES, TRACES
from mercato.platform.control import Control, instance_spec, socket_path
from mercato.platform.databases_up import migrate_databases
from mercato.platform.demo import SeedError, seed_demo
from mercato.platform.faults.links import FaultLinks
from mercato.platform.liveness import LivenessWatch, liveness_failures
from mercato.platform.nats_auth import ensure_credentials, nats_users
from mercato.platform.nats_server import STANDARD_PORT
from mercato.platform.nats_up import (
    described,
    nats_children,
    nats_specs,
    restoring,
    set_up_jetstream,
    start_servers,
)
from mercato.platform.provider_up import ProviderError, provider_live, provider_plan
from mercato.platform.replicas import parse_replicas, service_specs
from mercato.platform.running import SUPERVISOR
from mercato.platform.supervisor import Supervisor
from mercato.platform.trace_store_up import TraceStoreError, trace_plan, trace_store_live
from mercato.platform.up_ready import running_table, wait_ready
from mercato.platform.workload_keys import NATS, ensure_workload_certs, ensure_workload_keys

console = Console(stderr=False)


class UpError(Exception):
    pass


def _lock(run_dir: Path):
    run_dir.mkdir(parents=True, exist_ok=True)
    fh = (run_dir / "up.lock").open("w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise UpError(f"another `mercato up` is running on {run_dir.parent}") from None
    return fh


@dataclass
class _Boot:
    """What start-up has opened so far, for the stop path to close."""

    nc: object = None
    view: RegistryView | None = None
    control: Control | None = None
    listener: socket.socket | None = None
    liveness: LivenessWatch | None = None
    links: FaultLinks | None = None  # --fault-proxies
    gateway_url: str = ""


async def all_of(*steps) -> None:
    """Run ``steps`` (coroutines) concurrently until all are done; the first to fail
    cancels the others (awaited) and its error is raised as it is (``TaskGroup`` would
    wrap it in an ``ExceptionGroup``)."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _say(message: str) -> None:
    """Print, but never let a closed terminal or pipe stop the shutdown."""
    with contextlib.suppress(Exception):
        console.print(message, highlight=False)


def _warn(message: str) -> None:
    _say(f"[yellow]warning:[/] {message}")


async def _boot(settings: Settings, sup: Supervisor, data_dir: Path, boot: _Boot, *,
                seed: bool, ready_timeout: float, started: float,
                replicas: dict[str, int], nats_nodes: int = 1) -> None:
    run_dir = data_dir / "run"
    try:
        failures = liveness_failures()
    except ValueError as exc:
        raise UpError(str(exc)) from None
    # The gateway's port is bound here, before any service takes a port of its own (they
    # bind port 0, which could otherwise hand one of them this very port).
    try:
        boot.listener = bind(settings.host, settings.gateway_port)
    except OSError as exc:
        raise UpError(f"port {settings.gateway_port} is taken ({exc.strerror}): "
                      "set MERCATO_GATEWAY_PORT") from None
    gateway_fd = boot.listener.fileno()
    gateway_port = boot.listener.getsockname()[1]  # MERCATO_GATEWAY_PORT=0: a free one
    ensure_workload_keys(data_dir)  # before any child: each starts with its own key
    seeds = ensure_credentials(keys_dir(data_dir))  # and its own NATS user
    copies = replicas_for(nats_nodes)  # of every stream and bucket (chassis/messaging/servers)
    os.environ[REPLICAS_ENV] = str(copies)  # for every child, and this process's own views
    env = dict(os.environ, MERCATO_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.pop("MERCATO_MTLS", None)  # children are told by child_env, in one spelling
    tls = None
    if settings.mtls:  # the local CA and every certificate, before any child (chassis/tls)
        ensure_workload_certs(data_dir)
        env["MERCATO_MTLS"] = "1"
        tls = client_ssl(settings, SUPERVISOR)
    logs = data_dir / "logs"
    try:
        nats_url, servers = nats_specs(nats_nodes, data_dir, env, logs, nats_users(seeds),
                                       tls_files(settings, NATS))
    except ValueError as exc:
        raise UpError(str(exc)) from None
    env["MERCATO_NATS_URL"] = nats_url
    # Every port is chosen now, so all start at once; none listens yet, hence `taken`.
    # (A cluster's route ports are not in it: a clash with one of those two is as unlikely
    # as two random picks of ~28,000 ports meeting, and would show as a start that fails.)
    taken = frozenset({STANDARD_PORT, gateway_port, *(port for _, port in servers)})
    plan = trace_plan(env, logs, avoid=taken)
    store_port = {int(plan.url.rpartition(":")[2])} if plan.spec is not None else set()
    env, provider_url, provider = provider_plan(plan.env, logs, avoid=taken | store_port)
    store_url, traces = plan.url, plan.line
    _say(f"Starting NATS on {nats_url} ({described(nats_nodes, copies, data_dir)}"
         f"{'; TLS with client certificates' if tls else ''})")

    async def set_up() -> None:
        await set_up_jetstream(boot.nc, settings.registry_ttl, copies,
                               duplicate_window=settings.nats_duplicate_window)

    async def nats_up() -> None:
        boot.nc = await start_servers(sup, servers, nats_url,
                                      **connect_options(SUPERVISOR, seeds[SUPERVISOR]),
                                      **({"tls": tls} if tls else {}),
                                      reconnected_cb=restoring(set_up, _warn))
        await set_up()

    # The trace store and the card provider (Python processes, each a second or more of
    # imports) are spawned first, then NATS and the one child that migrates every SQLite
    # database (databases_up.py); all are waited for together.
    waits = [migrate_databases(settings.model_copy(update={"data_dir": data_dir}), _warn)]
    if plan.spec is not None:
        waits.append(trace_store_live(await sup.start(plan.spec), plan.url, _say))
    if provider is not None:
        waits.append(provider_live(await sup.start(provider), provider_url))
    try:
        await all_of(*waits, nats_up())
    except (TimeoutError, TraceStoreError, ProviderError) as exc:
        raise UpError(str(exc)) from None
    for spec in service_specs(replicas, env, logs, gateway_fd):
        if boot.links is not None and spec.name != f"{GATEWAY}-1":
            spec = await boot.links.route(spec, spec.name.rpartition("-")[0])
        await sup.start(spec)
    extra = sum(replicas.values()) - len(replicas)
    _say(f"Started {len(SERVICES)} services"
         f"{f' (+{extra} replicas)' if extra else ''} and the gateway; waiting until ready")
    boot.view = RegistryView(boot.nc, settings.registry_ttl)
    await boot.view.start()
    gateway_url = boot.gateway_url = f"http://{settings.host}:{gateway_port}"
    if failures:
        boot.liveness = LivenessWatch(sup, lambda msg: _say(f"[yellow]supervisor:[/] {msg}"),
                                      failures=failures)
        boot.liveness.ssl = tls  # the services' probes are HTTPS with mTLS on
        boot.liveness.know(f"{GATEWAY}-1", gateway_url)
        if store_url:
            boot.liveness.know(TRACES, store_url)
        for name, direct in (boot.links.direct if boot.links else {}).items():
            boot.liveness.know(name, direct)  # past its fault proxy: a fault is no hang
        boot.liveness.start(boot.view)
    try:
        await wait_ready(boot.view, gateway_url, sup, ready_timeout, replicas)
    except TimeoutError as exc:
        raise UpError(str(exc)) from None
    boot.control = Control(
        sup, lambda name, version: instance_spec(name, env, logs, gateway_fd,
                                                 version), settings.version, boot.links,
        boot.view)
    await boot.control.start(socket_path(data_dir))
    (run_dir / "state.json").write_text(json.dumps(
        {"pid": os.getpid(), "nats_url": nats_url, "gateway_url": gateway_url,
         "nats_nodes": nats_nodes, "replicas": replicas, "trace_store_url": store_url,
         "provider_url": provider_url,
         "provider_timeout": settings.provider_timeout, "mtls": settings.mtls}))
    with contextlib.suppress(Exception):
        console.print(running_table(sup, boot.view, gateway_url, nats_url, logs, traces,
                                    provider_url))
    # Said once the gateway answers ready (every service has a ready instance); seeding after
    _say(f"[green]Mercato is ready[/] in {time.monotonic() - started:.1f}s at {gateway_url}")


async def _seed(gateway_url: str, settings: Settings) -> None:
    try:
        created = await seed_demo(gateway_url, settings)
    except (SeedError, aiohttp.ClientError, TimeoutError) as exc:
        _say(f"[yellow]warning:[/] the demo catalog was not seeded: {exc}")
    else:
        if created:
            _say(f"Seeded the demo catalog: {created} products with stock")


async def run_up(settings: Settings, *, seed: bool = True, ready_timeout: float = 90.0,
                 replicas: dict[str, int] | None = None, nats_nodes: int = 1,
                 fault_proxies: bool = False) -> int:
    """Run the platform until SIGINT/SIGTERM; ``replicas`` (``parse_replicas``): instances
    per service, one by default; ``nats_nodes``: NATS servers (a JetStream cluster if more
    than one: platform/nats_up.py); ``fault_proxies``: links through proxies (faults/)."""
    replicas = replicas or parse_replicas(None)
    # Databases, keys, secrets, the NATS store and logs hold customers' data: readable by
    # this user only, for everything created from here on by us and by every child.
    os.umask(0o077)
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    run_dir = data_dir / "run"
    lock = _lock(run_dir)
    sup = Supervisor(lambda msg: _say(f"[yellow]supervisor:[/] {msg}"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    boot = _Boot(links=FaultLinks() if fault_proxies else None)
    starting = asyncio.create_task(_boot(settings, sup, data_dir, boot, seed=seed,
                                         ready_timeout=ready_timeout,
                                         started=time.monotonic(), replicas=replicas,
                                         nats_nodes=nats_nodes))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # Ctrl-C during start-up: stop now, not once ready
            _say("Interrupted during start-up")
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
            return 130
        starting.result()  # raises UpError if start-up failed
        seeding = asyncio.create_task(_seed(boot.gateway_url, settings)) if seed else None
        await stopping
        if seeding is not None and not seeding.done():
            seeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await seeding
        return 0
    except UpError as exc:
        _say(f"[red]error:[/] {exc}")
        return 1
    finally:
        stopping.cancel()
        _say("Stopping: gateway, then services, then the trace store, the card provider "
             "and NATS")
        if boot.liveness:
            await boot.liveness.stop()
        if boot.control:
            await boot.control.close()
        if boot.view:
            await boot.view.stop()
        if boot.nc:
            with contextlib.suppress(Exception):
                await boot.nc.close()
        servers = nats_children(sup.children)
        others = (f"{GATEWAY}-1", TRACES, PROVIDER, *servers)
        services = [n for n in sup.children if n not in others]
        await sup.stop_all([[f"{GATEWAY}-1"], services, [TRACES, PROVIDER, *servers]])
        if boot.links:
            await boot.links.close()
        if boot.listener:
            boot.listener.close()
        with contextlib.suppress(FileNotFoundError):
            (run_dir / "state.json").unlink()
        with contextlib.suppress(FileNotFoundError):
            (run_dir / "up.lock").unlink()
        with contextlib.suppress(FileNotFoundError):
            socket_path(data_dir).unlink()
        lock.close()
        _say("Stopped.")

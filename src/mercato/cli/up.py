"""``mercato up`` and ``mercato serve``: the commands that start the local platform and one
of its processes. They parse the options; the runtime they start is
``mercato.platform`` (``platform/up.py`` ``run_up``, the supervisor, NATS, the replicas).
"""

from __future__ import annotations

from typing import Annotated

import typer


def up(
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the demo catalog.")]
    = False,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 90.0,
    replicas: Annotated[str | None, typer.Option(
        "--replicas", metavar="SERVICE=N,...",
        help="Run N instances (1 to 8) of these services, e.g. catalog=3,orders=2; the "
             "others run one. Instances of a service share its database file.")] = None,
    nats_cluster: Annotated[int, typer.Option(
        "--nats-cluster", metavar="N", min=1, max=9, envvar="MERCATO_NATS_CLUSTER",
        help="Run NATS as a JetStream cluster of N servers (nats-1..nats-N, free ports, "
             "data under <data dir>/nats-cluster/); every stream and KV bucket keeps "
             "min(3, N) copies, so with 3 the platform rides out the loss of one server. "
             "1 (the default): one server.")] = 1,
    profile: Annotated[str, typer.Option(
        "--profile", envvar="MERCATO_PROFILE", metavar="embedded|production",
        help="embedded (the default): SQLite files, one NATS server, limits in memory. "
             "production: PostgreSQL from MERCATO_DATABASE_URL, three NATS nodes, Redis "
             "from MERCATO_REDIS_URL, MERCATO_ENV=production (MERCATO_ADMIN_PASSWORD and "
             "MERCATO_SIGNING_KEY_FILE must be given); docs/production.md.")] = "embedded",
    fault_proxies: Annotated[bool, typer.Option(
        "--fault-proxies",
        help="Put a fault proxy on each service's links: in front of every instance, to "
             "NATS and to PostgreSQL; `mercato faults` breaks them on demand "
             "(docs/chaos.md).")] = False,
) -> None:
    """Start NATS (one server, or a cluster with --nats-cluster), every service and the
    gateway; supervise them until Ctrl-C."""
    import uvloop

    from mercato.platform.profile import PROFILES, apply_profile
    from mercato.platform.replicas import parse_replicas
    from mercato.platform.up import UpError, console, run_up

    try:
        counts = parse_replicas(replicas)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--replicas'") from None
    if profile not in PROFILES:
        raise typer.BadParameter(f"choose {' or '.join(PROFILES)}", param_hint="'--profile'")
    try:
        settings, nodes = apply_profile(profile, nats_cluster)  # names what is missing
        code = uvloop.run(run_up(settings, seed=not no_seed, ready_timeout=ready_timeout,
                                 replicas=counts, nats_nodes=nodes,
                                 fault_proxies=fault_proxies))
    except UpError as exc:
        console.print(f"[red]error:[/] {exc}")
        code = 1
    raise typer.Exit(code)


def serve(
    service: Annotated[str, typer.Argument(
        help="identity, catalog, ..., gateway, traces (the embedded trace store) or "
             "provider (the card provider's simulator)")],
    instance: Annotated[int, typer.Option(help="Instance number, shown in ps.")] = 1,
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 0,
    fd: Annotated[int | None, typer.Option(
        help="Serve on this inherited listening socket instead of binding a port "
             "(mercato up passes the gateway the port it holds).")] = None,
) -> None:
    """Run one instance of a service, the gateway or the trace store (the supervisor
    calls this). `mercato serve traces --port P` receives OTLP/HTTP trace exports on
    POST /v1/traces and answers GET /traces (docs/trace-store.md); `mercato serve provider
    --port P` is the card provider's simulator (its ledger under the data dir)."""
    from mercato.chassis.settings import load_settings
    from mercato.platform.catalog import GATEWAY, PROVIDER, SERVICES, TRACES, load_builder

    if service == TRACES:
        from mercato.tracestore import StoreSettings, serve_traces

        if not port:
            raise typer.BadParameter("the trace store needs --port (mercato up picks one)")
        serve_traces(StoreSettings(), port)
        return
    settings = load_settings()
    if service == PROVIDER:
        from mercato.simulators.provider import serve_provider

        if not port:
            raise typer.BadParameter("the provider needs --port (mercato up picks one)")
        # tok_slow answers after the payments' timeout, as the in-process one does
        serve_provider(settings.data_dir, port, latency=settings.provider_latency,
                       slow_delay=settings.provider_timeout * 2 + 1.0)
        return
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

"""bench_messaging's tables: the variants against raw JetStream, and where the throughput
phase's time went."""

from __future__ import annotations

from _messaging_runs import Runs


def print_table(console, results: list[Runs], args) -> None:
    """The results table and the throughput phase's stages table."""
    from rich.table import Table

    by_key = {(r.sync, r.variant.label): r for r in results}
    table = Table(
        title=f"Reliable messaging vs raw JetStream (median of {args.rounds} rounds)",
        title_justify="left", caption_justify="left",
        caption=(
            "events/s: N events end to end (first commit/publish -> last consumed), "
            f"N={args.events}. x (a): vs raw JetStream on the same server, x default: vs the "
            "same variant on the default-sync server, both the median over rounds of the "
            "ratio within a round. spread = (max-min)/median of events/s. "
            f"p50/p99: at {args.rate:g} events/s, commit (b) or publish (a) -> consumer "
            "commit (b) or ack (a). CPU: µs per event over the throughput phase, of the "
            "publisher/consumer/nats-server processes, and their total; x (a) by CPU = total "
            "CPU of (a) / total CPU of the row (median over rounds): the events/s ratio if CPU "
            "were the only limit."
        ),
    )
    table.add_column("fsync")
    table.add_column("variant")
    for head in ("events/s", "x (a)", "x default", "spread", "p50 ms", "p99 ms",
                 "CPU µs/ev pub/con/nats", "total", "x (a) by CPU"):
        table.add_column(head, justify="right")
    for r in results:
        base = by_key[(r.sync, results[0].variant.label)]
        eps = r.median("eps")
        default = by_key.get(("default", r.variant.label))
        vs_default = (f"{r.ratio(default, 'eps'):.2f}"
                      if default is not None and r.sync != "default" else "")
        table.add_row(
            "always" if r.sync == "always" else "default",
            r.variant.label,
            f"{eps:,.0f}",
            f"{r.ratio(base, 'eps'):.2f}",
            vs_default,
            f"{r.spread('eps'):.0%}",
            f"{r.median('p50'):.2f}",
            f"{r.median('p99'):.2f}",
            "/".join(f"{r.median(k):.0f}" for k in ("cpu_pub", "cpu_sub", "cpu_nats")),
            f"{r.median('cpu_total'):.0f}",
            f"{r.ratio(base, 'cpu_total', inverse=True):.2f}",
        )
    console.print(table)
    stages = Table(
        title="Throughput phase: where the time went (medians)", title_justify="left",
        caption_justify="left",
        caption=(
            "commit / PubAck / consumed: seconds after the first event at which the last one "
            "was committed (b), acked by the broker, handled by the consumer. ev/batch: "
            "events per publish batch (a relay round that sent something); msg/fetch: messages "
            "per fetch that returned any. CPU / wait: share of the phase the publisher / "
            "consumer process ran, and was runnable but waited for a CPU (/proc schedstat). "
            "loaded p50/p99: latency (ms) in this phase, mostly queueing behind the backlog."
        ),
    )
    for head in ("fsync", "variant"):
        stages.add_column(head)
    for head in ("commit s", "PubAck s", "consumed s", "ev/batch", "msg/fetch",
                 "CPU pub/con", "wait pub/con", "loaded p50/p99"):
        stages.add_column(head, justify="right")
    for r in results:
        stages.add_row(
            r.sync, r.variant.label,
            f"{r.median('commits_at'):.2f}" if r.variant.kind != "raw" else "-",
            f"{r.median('published_at'):.2f}", f"{r.median('elapsed'):.2f}",
            f"{r.median('per_batch'):.0f}", f"{r.median('per_fetch'):.0f}",
            f"{r.median('busy_pub'):.0%} / {r.median('busy_sub'):.0%}",
            f"{r.median('wait_pub'):.0%} / {r.median('wait_sub'):.0%}",
            f"{r.median('loaded_p50'):.0f}/{r.median('loaded_p99'):.0f}",
        )
    console.print(stages)


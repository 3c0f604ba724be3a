"""``mercato certs``: the local CA and the workloads' certificates of optional mTLS
(``MERCATO_MTLS=1``, docs/zero-trust.md part 4), under ``<data dir>/pki/``.

``mercato up`` with mTLS on makes whatever is missing itself; this command does the same
ahead of time (or after a certificate was deleted or is about to expire) and shows what
is there. The rules (kept while valid, renewed within two days of the end, all re-issued
when the CA is new) are chassis/tls/pki.py's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

CERTS_HELP = (
    "Create the local CA and a certificate per workload (every service, the gateway, "
    "cli, supervisor and the NATS server) for MERCATO_MTLS=1, under <data dir>/pki/: "
    "ECDSA P-256, the CA valid one year, each certificate 30 days, naming its workload "
    "(DNS and spiffe://mercato.local/<name>) and 127.0.0.1; keys owner-only. Valid ones "
    "are kept; missing, expiring (within 2 days) or foreign ones are made anew. "
    "`mercato up` with MERCATO_MTLS=1 does this itself. --show changes nothing.")


def certs_command(
    show: Annotated[bool, typer.Option(
        "--show", help="Only list what is there (exit 1 if anything is missing or due).")]
    = False,
) -> None:
    from mercato.chassis.settings import load_settings
    from mercato.cli.common import console

    data_dir = Path(load_settings().data_dir)
    raise typer.Exit(certs(data_dir, console(), show=show))


def certs(data_dir: Path, console, *, show: bool = False) -> int:
    from rich.table import Table

    from mercato.chassis.tls.pki import CA_NAME, RENEW_BEFORE, pki_dir, read_issued
    from mercato.platform.workload_keys import CERTIFIED, ensure_workload_certs

    if show:
        found = {n: read_issued(data_dir, n) for n in (CA_NAME, *CERTIFIED)}
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        found = {i.name: i for i in ensure_workload_certs(data_dir)}
    now = dt.datetime.now(dt.UTC)
    table = Table(title=f"mTLS certificates in {pki_dir(data_dir)}")
    for column in ("name", "certificate", "expires (UTC)", "sha-256", "state"):
        table.add_column(column, no_wrap=column != "certificate")
    bad = 0
    for name, issued in found.items():
        if issued is None:
            bad += 1
            table.add_row(name, "-", "-", "-", "[red]missing[/]")
            continue
        due = issued.not_after - RENEW_BEFORE < now
        bad += due
        state = ("[red]due[/]" if due else "[cyan]made[/]" if issued.created
                 else "[green]valid[/]")
        table.add_row(name, str(issued.cert), f"{issued.not_after:%Y-%m-%d %H:%M}",
                      issued.fingerprint, state)
    console.print(table)
    if show and bad:
        console.print(f"{bad} missing or due: run `mercato certs` (or `mercato up` with "
                      "MERCATO_MTLS=1)", highlight=False)
        return 1
    if not show:
        console.print("Use them with MERCATO_MTLS=1 mercato up (services then serve "
                      "HTTPS with client certificates, NATS requires them).", highlight=False)
    return 0

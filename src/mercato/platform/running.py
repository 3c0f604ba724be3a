"""Finding the running platform from its data dir (``<data dir>/run/state.json``, written
by ``mercato up`` once it is ready) and connecting to its NATS server."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import nats
from nats.aio.client import Client as Nats

from mercato.chassis.identity import ServiceIdentity, load_identity
from mercato.chassis.identity.keys import keys_dir
from mercato.chassis.identity.load import IdentityUnavailable
from mercato.chassis.messaging.credentials import connect_options, seed_path
from mercato.chassis.messaging.servers import nats_servers
from mercato.chassis.settings import Settings
from mercato.chassis.tls import TlsFiles, client_context
from mercato.chassis.tls.pki import ca_path, cert_key_path, cert_path

CLI = "cli"  # the workload name of the operator commands (platform/workload_keys.py)
SUPERVISOR = "supervisor"  # mercato up and the deploy tooling (platform/nats_permissions.py)


class NotRunning(Exception):
    """No ``mercato up`` is running on this data dir (or its state file is unreadable)."""


def state_file(data_dir: Path) -> Path:
    return Path(data_dir) / "run" / "state.json"


def running_state(data_dir: Path) -> dict:
    """What ``mercato up`` recorded: ``nats_url``, ``gateway_url``, its ``pid`` and the
    ``replicas`` it started of each service."""
    path = state_file(data_dir)
    if not path.exists():
        raise NotRunning(f"Mercato is not running on data dir {data_dir} (no {path}). "
                         "Start it with `mercato up`, or set MERCATO_DATA_DIR to its data dir.")
    try:
        state = json.loads(path.read_text())
        if not isinstance(state, dict) or not state.get("nats_url"):
            raise ValueError("no nats_url in it")
    except ValueError as exc:
        raise NotRunning(f"{path} is unreadable ({exc}); is `mercato up` still starting?") \
            from None
    return state


def expected_instances(state: dict) -> dict[str, int]:
    """How many instances of each service ``mercato up`` started (``--replicas``); empty
    when the state file does not say (an older ``mercato up``)."""
    replicas = state.get("replicas")
    if not isinstance(replicas, dict):
        return {}
    return {str(s): n for s, n in replicas.items() if isinstance(n, int)}


async def _quiet(exc: Exception) -> None:
    """The client's default error callback prints a traceback-like report; a command
    notices a lost connection itself and says so in one line."""


def login(data_dir: Path, user: str = CLI) -> dict[str, object]:
    """How a command logs in to the platform's NATS: as ``cli`` (reads, replays) or, for
    the deploy commands, as ``supervisor`` — the seeds ``mercato up`` keeps in the data dir
    (none there: no credentials, for a server of one's own) and, when the platform runs
    with mTLS, the user's certificate (``tls``)."""
    seed = seed_path(keys_dir(data_dir), user)
    options: dict[str, object] = dict(connect_options(user, seed if seed.exists() else None))
    tls = cli_ssl(data_dir, user)
    if tls is not None:
        options["tls"] = tls
    return options


def cli_ssl(data_dir: Path, workload: str = CLI) -> ssl.SSLContext | None:
    """The client TLS context of a command (``workload``'s certificate from the data
    dir's pki/) when the running platform says it runs with mTLS; else None."""
    try:
        mtls = json.loads(state_file(data_dir).read_text()).get("mtls") is True
    except (OSError, ValueError, AttributeError):
        return None
    if not mtls:
        return None
    return client_context(TlsFiles(cert_path(data_dir, workload),
                                   cert_key_path(data_dir, workload), ca_path(data_dir)))


async def connect(nats_url: str, login: dict[str, object] | None = None) -> Nats:
    """One connection attempt with a short timeout (to each server of a cluster's comma
    list): a command should fail fast and say so."""
    try:
        return await nats.connect(nats_servers(nats_url), connect_timeout=2,
                                  max_reconnect_attempts=1, allow_reconnect=False,
                                  name="mercato-cli", error_cb=_quiet, **(login or {}))
    except Exception as exc:
        raise NotRunning(f"cannot connect to NATS at {nats_url}: {exc or type(exc).__name__}") \
            from None


def cli_identity(settings: Settings) -> ServiceIdentity:
    """The operator commands' own workload identity (``cli``, created by ``mercato up``
    under the data dir; MERCATO_SERVICE_KEY_FILE and _JWKS_FILE name them elsewhere)."""
    try:
        return load_identity(CLI, settings)
    except IdentityUnavailable as exc:
        raise NotRunning(str(exc)) from None

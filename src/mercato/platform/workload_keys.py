"""The supervisor's half of workload identity (docs/zero-trust.md): before any child
starts, every workload has its key under ``<data dir>/keys/`` and the service JWKS lists
them all; each child is then told the path of its own key and of the secrets it needs,
and of nothing else's (in production each of these is a mounted secret).

Workloads: the services, the gateway, and ``cli`` — the operator commands that call
services themselves (``mercato verify``, ``mercato projections rebuild``).

With mTLS on (``MERCATO_MTLS=1``) each of them, the supervisor and the NATS server also
has a certificate from the local CA (``ensure_workload_certs``, chassis/tls/pki.py) and
each child is told the paths of its own (``MERCATO_TLS_CERT_FILE``, ``_KEY_FILE``,
``_CA_FILE``).
"""

from __future__ import annotations

from pathlib import Path

from nats.js import JetStreamContext

from mercato.chassis.calls import registry, routing
from mercato.chassis.identity import (
    ensure_private_key,
    ensure_secret,
    jwks_path,
    key_path,
    public_jwk,
    secret_path,
    write_jwks,
)
from mercato.chassis.identity.keys import keys_dir
from mercato.chassis.messaging import ensure_streams
from mercato.chassis.messaging.credentials import NKEY_FILE_ENV, seed_path
from mercato.chassis.messaging.streams import DUPLICATE_WINDOW, ensure_stream
from mercato.chassis.tls import Issued, ensure_pki
from mercato.chassis.tls.pki import ca_path, cert_key_path, cert_path
from mercato.gateway.audit import audit_stream_config
from mercato.platform.catalog import GATEWAY, SERVICES
from mercato.platform.nats_permissions import publishers
from mercato.platform.running import CLI, SUPERVISOR

WORKLOADS = (*SERVICES, GATEWAY, CLI)
NATS = "nats"  # the NATS server's certificate (mTLS only)
CERTIFIED = (*WORKLOADS, SUPERVISOR, NATS)
# The shared secrets and who holds them: card tokens are sealed by orders and opened by
# payments; the pages' CSRF tokens are the gateway's alone.
SECRETS = {"card-seal": ("orders", "payments"), "pages": (GATEWAY,)}


def ensure_workload_keys(data_dir: Path) -> Path:
    """Create what is missing (keys are kept across runs) and write the service JWKS;
    returns its path."""
    jwks = [public_jwk(name, ensure_private_key(key_path(data_dir, name)))
            for name in WORKLOADS]
    for name in SECRETS:
        ensure_secret(secret_path(data_dir, name))
    path = jwks_path(data_dir)
    write_jwks(path, jwks)
    return path


async def set_up_streams(js: JetStreamContext, registry_ttl: float,
                         replicas: int | None = None,
                         duplicate_window: float = DUPLICATE_WINDOW) -> None:
    """What no service may set up for itself (each may touch only its own stream): every
    event stream, the dead-letter stream, the audit stream (written by the gateway and
    the operator's commands), the registry and routing buckets — each with ``replicas``
    copies (default ``MERCATO_NATS_REPLICAS``; chassis/messaging/servers.py). Run again
    when NATS comes back, which may be without its store (docs/chaos.md F4)."""
    await ensure_streams(js, *publishers(), replicas=replicas,
                         duplicate_window=duplicate_window)
    await ensure_stream(js, audit_stream_config(replicas))
    await registry.open_bucket(js, registry_ttl, replicas)
    await routing.open_bucket(js, replicas)


def ensure_workload_certs(data_dir: Path) -> list[Issued]:
    """The local CA and a certificate for every workload, the supervisor and the NATS
    server (kept while valid, made when missing); the CA first."""
    return ensure_pki(data_dir, CERTIFIED)


def child_env(service: str, data_dir: Path, *, mtls: bool = False) -> dict[str, str]:
    """The identity settings of one child process of ``service``: its key, the service
    JWKS, its NATS user's seed (platform/nats_auth.py) and the shared secrets it holds; with
    ``mtls``, its certificate, key and the CA as well."""
    env = {"MERCATO_SERVICE_KEY_FILE": str(key_path(data_dir, service)),
           "MERCATO_SERVICE_JWKS_FILE": str(jwks_path(data_dir)),
           NKEY_FILE_ENV: str(seed_path(keys_dir(data_dir), service))}
    for name, holders in SECRETS.items():
        if service in holders:
            env[f"MERCATO_{name.replace('-', '_').upper()}_KEY_FILE"] = str(
                secret_path(data_dir, name))
    if mtls:
        env.update(MERCATO_MTLS="1", MERCATO_TLS_CERT_FILE=str(cert_path(data_dir, service)),
                   MERCATO_TLS_KEY_FILE=str(cert_key_path(data_dir, service)),
                   MERCATO_TLS_CA_FILE=str(ca_path(data_dir)))
    return env

"""Settings: one object per process, read from ``MERCATO_*`` environment variables.

Nothing is read at import time; ``load_settings()`` is called by the composition root
and the object is passed explicitly from there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ADMIN_EMAIL = "admin@mercato.local"
DEV_ADMIN_PASSWORD = "mercato-admin"
_DEVELOPMENT_DEFAULTS = {"admin_password": DEV_ADMIN_PASSWORD}


class MissingSettings(ValueError):
    """A production process was started without settings it must be given."""


class Settings(BaseSettings):
    """Everything a Mercato process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".mercato")
    gateway_port: int = Field(default=8000, ge=0, le=65535)
    host: str = "127.0.0.1"
    # Where others reach this instance, when not at its own port: a fault proxy in front of
    # it (`mercato up --fault-proxies`, docs/chaos.md). Empty: its listening address.
    advertise_url: str = ""
    nats_url: str = "nats://127.0.0.1:4333"
    # Seconds JetStream drops a re-published event (same Nats-Msg-Id) as a duplicate. Only
    # a help: the inboxes drop what comes later (a chaos platform runs with a short one).
    nats_duplicate_window: float = Field(default=120.0, gt=0)
    # Seconds published outbox rows are kept to be re-published after the broker lost its
    # store (docs/chaos.md F4); the event streams' max_age, 7 days, by default.
    outbox_retention: float = Field(default=7 * 24 * 3600.0, gt=0)
    # This process's NATS user: its nkey seed file (made by `mercato up` under
    # <data dir>/keys/nats/); unset: connect without credentials (a server of one's own).
    nats_nkey_file: Path | None = None
    version: str = "1"
    log_level: str = "info"
    # A PostgreSQL server (``postgresql://user@host:5432/``): each service keeps its data
    # in its own database ``mercato_<service>`` there, created if missing; or a database
    # named in the URL. A service's ``MERCATO_<SERVICE>_DATABASE_URL`` wins. Unset:
    # SQLite files under the data dir (docs/production.md).
    database_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1)
    # PostgreSQL: seconds to connect, and a statement may go unanswered (a hung network),
    # before the request fails with a 503 rather than waiting on.
    database_connect_timeout: float = Field(default=5.0, gt=0)
    database_statement_timeout: float = Field(default=15.0, gt=0)
    # SQLite: seconds a write waits for another process's lock (a replica's, or one held
    # for long: F9) before a 503 naming it; below call_timeout so the caller hears why.
    database_busy_timeout: float = Field(default=2.0, gt=0)
    # Seconds two hosts' clocks may disagree: tokens' iat/exp are checked with this much
    # leeway, and a retired signing key is kept that much longer (F11 runs with 330).
    clock_skew_leeway: int = Field(default=30, ge=0, le=3600)

    admin_email: str = DEV_ADMIN_EMAIL
    admin_password: str = DEV_ADMIN_PASSWORD
    # This workload's Ed25519 key and the service JWKS (every workload's public key): the
    # identity it calls other services with and checks callers against (docs/zero-trust.md).
    # Unset: the data dir's keys/ (created by `mercato up`); required in production.
    service_key_file: Path | None = None
    service_jwks_file: Path | None = None
    # Secrets shared by the few services that need them: the key that seals card tokens
    # (orders and payments) and the one that signs the pages' CSRF tokens (gateway).
    card_seal_key_file: Path | None = None
    pages_key_file: Path | None = None
    # Optional mTLS inside (docs/zero-trust.md part 4): services serve HTTPS that requires
    # a client certificate from the local CA, every internal client presents its own, NATS
    # requires one too. Off: plain HTTP and NATS, as always. The files: this workload's
    # certificate, key and the CA; unset, the data dir's pki/ (`mercato certs`).
    mtls: bool = False
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None
    # PEM file of the Ed25519 key that signs access tokens; generated in development.
    signing_key_file: Path | None = None
    token_issuer: str = "mercato-identity"
    token_audience: str = "mercato"
    access_token_ttl: int = Field(default=900, gt=0)
    refresh_token_ttl: int = Field(default=14 * 24 * 3600, gt=0)

    registry_ttl: float = Field(default=10.0, gt=0)
    heartbeat_interval: float = Field(default=2.0, gt=0)
    call_timeout: float = Field(default=5.0, gt=0)
    # The saga participants' internal commands and orders' catalog lookup
    # (docs/internal-transport.md): over HTTP, or over gRPC (inventory, payments, shipping
    # and catalog serve it on ``grpc_port``, 0: a free one, beside their HTTP port). HTTP
    # by default: gRPC measured 13% more CPU per order here (benchmarks/RESULTS.md).
    internal_transport: Literal["http", "grpc"] = "http"
    grpc_port: int = Field(default=0, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_000_000, gt=0)

    # Calls to other services, by the gateway and the service client alike
    # (docs/resilience.md): balancing, outlier ejection, attempts and backoff, the retry
    # budget, the circuit breaker and the bulkhead, each per downstream service.
    balancer: Literal["p2c", "round_robin", "random", "least_outstanding"] = "p2c"
    eject_after_failures: int = Field(default=5, ge=1)
    eject_seconds: float = Field(default=10.0, gt=0)
    call_attempt_timeout: float = Field(default=0.0, ge=0)  # 0: the whole call_timeout
    retry_attempts: int = Field(default=3, ge=1)
    retry_backoff: float = Field(default=0.025, ge=0)  # first retry's cap; doubles, jittered
    retry_budget_ratio: float = Field(default=0.2, ge=0)
    retry_budget_min_per_second: float = Field(default=5.0, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_open_seconds: float = Field(default=5.0, gt=0)
    breaker_probes: int = Field(default=2, ge=1)
    bulkhead_limit: int = Field(default=128, ge=1)

    # Simulated payment provider.
    provider_latency: float = Field(default=0.0, ge=0)
    provider_timeout: float = Field(default=2.0, gt=0)
    # The card provider over HTTP (the simulator `mercato up` runs, or a real one); empty:
    # the in-process simulation. A call that timed out is a doubt: after the grace (a
    # request still on its way may yet land) it is looked up and settled every poll.
    payment_provider_url: str = ""
    provider_doubt_grace: float = Field(default=5.0, ge=0)
    provider_reconcile_poll: float = Field(default=1.0, gt=0)
    # Checkout saga: attempts for a step that fails transiently, and the first backoff.
    saga_step_attempts: int = Field(default=3, ge=1)
    saga_backoff: float = Field(default=0.2, ge=0)
    # How the checkout runs: an orchestrator in orders, or services reacting to events
    # (docs/choreography.md).
    saga_mode: Literal["orchestration", "choreography"] = "orchestration"
    # Fault tests only: where armed crash points are looked for (see chassis/faults.py).
    fault_dir: Path | None = None

    @model_validator(mode="after")
    def _refuse_fault_injection(self) -> Settings:
        if self.env == "production" and self.fault_dir is not None:
            raise ValueError("MERCATO_FAULT_DIR (fault injection) is for tests only")
        return self

    def require_production(self, *fields: str) -> None:
        """Outside development, raise ``MissingSettings`` naming every one of ``fields``
        left at its development default (unset, or the development admin password).

        Each process asks for what it reads itself: every service process its service
        key, the service JWKS and its NATS credentials (chassis/runtime.py); identity,
        and ``mercato up`` which starts it, the admin password and the signing key."""
        if self.env != "production":
            return
        if missing := self.left_at_default(*fields):
            raise MissingSettings(f"{', '.join(missing)} must be set outside development")

    def left_at_default(self, *fields: str) -> list[str]:
        """The ``MERCATO_*`` names of those of ``fields`` that are unset or at their
        development default (the development admin password)."""
        return [f"MERCATO_{name.upper()}" for name in fields
                if getattr(self, name) in (None, _DEVELOPMENT_DEFAULTS.get(name))]

    def database_url_for(self, service: str) -> str | None:
        """Where ``service`` keeps its data: ``MERCATO_<SERVICE>_DATABASE_URL`` if set, else
        ``MERCATO_DATABASE_URL`` (a server: the service's own database ``mercato_<service>``
        on it); None: a SQLite file in the service's folder under the data dir."""
        own = os.environ.get(f"MERCATO_{service.upper()}_DATABASE_URL")
        return own or self.database_url

    def service_dir(self, service: str) -> Path:
        """The folder that holds one service's own files (its database, keys)."""
        path = self.data_dir / service
        path.mkdir(parents=True, exist_ok=True)
        return path


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; ``overrides`` win (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]

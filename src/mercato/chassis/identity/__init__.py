"""Workload identity (docs/zero-trust.md): a key per service (``keys``), tokens from one
service to another (``tokens``), and the per-route lists of who may call (``allow``).

- ``ServiceIdentity`` — mints this workload's tokens per target, verifies callers'.
- ``ServiceKeys`` — the service JWKS every receiver verifies against.
- ``load_identity`` — this process's identity from its settings.
"""

from mercato.chassis.identity.keys import (
    ensure_private_key,
    ensure_secret,
    jwks_path,
    key_path,
    public_jwk,
    secret_path,
    write_jwks,
)
from mercato.chassis.identity.load import load_identity, shared_secret
from mercato.chassis.identity.tokens import ServiceIdentity, ServiceKeys

__all__ = [
    "ServiceIdentity", "ServiceKeys", "ensure_private_key", "ensure_secret", "jwks_path",
    "key_path", "load_identity", "public_jwk", "secret_path", "shared_secret", "write_jwks",
]

"""Workload identity (docs/zero-trust.md): a key per service (``keys``), tokens from one
service to another (``tokens``), and the per-route lists of who may call (``allow``).

- ``ServiceIdentity`` — mints this workload's tokens per target, verifies callers'.
- ``ServiceKeys`` — the service JWKS every receiver verifies against.
- ``load_identity`` — this process's identity from its settings.

Loaded on first use (``lazy_loader``), as every face of the chassis: importing one
module of this package does not import the others.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "keys": ["ensure_private_key", "ensure_secret", "jwks_path", "key_path", "public_jwk",
            "secret_path", "write_jwks"],
    "load": ["load_identity", "shared_secret"],
    "tokens": ["ServiceIdentity", "ServiceKeys"],
})

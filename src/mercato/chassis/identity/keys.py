"""Workload keys on disk: each service's Ed25519 private key, the service JWKS that
holds every service's public key, and the symmetric secrets a few services share.

Layout under ``<data dir>/keys/`` (directory ``0700``, files ``0600``; the JWKS holds
public keys only, but nothing under the data dir is anyone else's to read)::

    <service>.pem           the service's own signing key (PKCS#8 PEM)
    services.jwks.json      every workload's public key, kid ``<service>:<thumbprint>``
    <name>.secret           a shared secret (card-seal: orders and payments; pages: gateway)

``mercato up`` creates them before any child starts (platform/workload_keys.py) and hands each
child the paths of its own (``MERCATO_SERVICE_KEY_FILE``, ``MERCATO_SERVICE_JWKS_FILE``);
in production they are secrets and a ConfigMap (docs/zero-trust.md). The owner of a
key is written into its ``kid`` so a receiver can check that a token's ``iss`` is the
service whose key signed it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEYS_DIR = "keys"
JWKS_NAME = "services.jwks.json"


def keys_dir(data_dir: Path) -> Path:
    return Path(data_dir) / KEYS_DIR


def key_path(data_dir: Path, owner: str) -> Path:
    """Where ``owner``'s private workload key is kept."""
    return keys_dir(data_dir) / f"{owner}.pem"


def jwks_path(data_dir: Path) -> Path:
    """Where the workloads' public keys (the service JWKS) are kept."""
    return keys_dir(data_dir) / JWKS_NAME


def secret_path(data_dir: Path, name: str) -> Path:
    """Where the shared secret ``name`` (e.g. card-seal) is kept."""
    return keys_dir(data_dir) / f"{name}.secret"


def _private_dir(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)


def _write_private(path: Path, data: bytes) -> None:
    """Written owner-only from the first byte (never readable by others, even briefly),
    through a temporary name so a reader never sees half a key."""
    _private_dir(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def ensure_private_key(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``, created (``0600``) when there is none."""
    path = Path(path)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        _write_private(path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        return key
    return load_private_key(path)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise KeyError(f"cannot read the service key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyError(f"the service key {path} is not an Ed25519 key")
    return key


def ensure_secret(path: Path) -> str:
    """The shared secret at ``path``, created (32 random bytes, ``0600``) if missing."""
    path = Path(path)
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(32).encode())
    return path.read_text().strip()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(owner: str, key: Ed25519PrivateKey) -> dict:
    """The public half as a JWK (RFC 8037), kid ``<owner>:<RFC 7638 thumbprint>``."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    x = _b64(raw)
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x},
                           separators=(",", ":"), sort_keys=True)
    thumb = _b64(hashlib.sha256(canonical.encode()).digest())[:16]
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "use": "sig", "alg": "EdDSA",
            "kid": f"{owner}:{thumb}"}


def owner_of(kid: str) -> str:
    """The workload a kid belongs to (the part before ``:``)."""
    return kid.partition(":")[0]


def write_jwks(path: Path, keys: list[dict]) -> None:
    """The service JWKS (public keys only; owner-only like the rest of the data dir)."""
    _write_private(Path(path), json.dumps({"keys": keys}, indent=1).encode())

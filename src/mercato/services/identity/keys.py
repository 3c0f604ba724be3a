"""An Ed25519 key that signs access tokens, its public half as a JWK, and its PEM forms.

Which key signs, and when keys rotate, is signing.py's: the keys live in identity's
database. A key comes from there, from a PEM file (MERCATO_SIGNING_KEY_FILE, taken in at
start), or, for the first key of a development installation, from
``<data_dir>/identity/signing_key.pem``, made once (instances starting together agree on
it: the file appears atomically, written aside then hard-linked into place, which fails if
it exists) and deleted when its key retires.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
DEV_KEY_NAME = "signing_key.pem"


class SigningKeyError(Exception):
    """The configured signing key cannot be used."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def thumbprint(jwk: dict) -> str:
    """RFC 7638 thumbprint: SHA-256 of the required members, sorted, no whitespace."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


class SigningKey:
    """A private Ed25519 key with its key id; signs JWTs and publishes its public JWK."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
        self.kid = thumbprint(self._public)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    def public_jwk(self) -> dict:
        return {**self._public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self.kid})

    def pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def load_pem(data: bytes, source: str = "the key") -> SigningKey:
    """The Ed25519 key in PKCS8 PEM ``data``; SigningKeyError says what is wrong with it."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{source} is not an unencrypted PKCS8 PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{source} holds a {type(key).__name__}, not an Ed25519 key")
    return SigningKey(key)


def load_signing_key(path: Path) -> SigningKey:
    """The key in a PKCS8 PEM file; SigningKeyError says what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key file {path}: {exc}") from exc
    return load_pem(data, str(path))


def forget_dev_key(service_dir: Path, kid: str) -> bool:
    """Delete the development key file if it holds ``kid``, a key that has retired: the
    database erases a retired key's private half, and no copy may outlive it."""
    path = service_dir / DEV_KEY_NAME
    try:
        if load_signing_key(path).kid != kid:
            return False
    except SigningKeyError:
        return False
    path.unlink(missing_ok=True)
    return True


def load_or_create_signing_key(configured: Path | None, service_dir: Path) -> SigningKey:
    """The configured key, else the development key in ``service_dir`` (made on first use)."""
    if configured is not None:
        return load_signing_key(configured)
    path = service_dir / DEV_KEY_NAME
    if not path.exists():
        _create_atomically(path, SigningKey.generate().pem())
    return load_signing_key(path)


def _create_atomically(path: Path, pem: bytes) -> None:
    aside = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another instance won the race; everyone uses its key
    finally:
        aside.unlink(missing_ok=True)

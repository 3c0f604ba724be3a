"""This process's identity and shared secrets, from its settings.

Development (``mercato up``): the supervisor created every key before starting the
children (platform/workload_keys.py) and names each child's own; a path left unset falls back
to the data dir's layout (keys.py). Production: the paths are required settings (secrets
mounted as files) and nothing is ever created here.
"""

from __future__ import annotations

from pathlib import Path

from mercato.chassis.identity.keys import (
    ensure_secret,
    jwks_path,
    key_path,
    load_private_key,
    public_jwk,
    secret_path,
)
from mercato.chassis.identity.tokens import ServiceIdentity, ServiceKeys
from mercato.chassis.security import AuthError
from mercato.chassis.settings import Settings


class IdentityUnavailable(RuntimeError):
    """This process has no usable key or service JWKS: it must not start."""


def load_identity(service: str, settings: Settings) -> ServiceIdentity:
    """``service``'s workload identity from its key and the JWKS files (settings may name
    them); ``IdentityUnavailable`` naming the missing file when one is absent."""
    key_file = settings.service_key_file or key_path(settings.data_dir, service)
    jwks_file = settings.service_jwks_file or jwks_path(settings.data_dir)
    if not Path(key_file).exists() or not Path(jwks_file).exists():
        raise IdentityUnavailable(
            f"{service} has no service key ({key_file}) or service JWKS ({jwks_file}): "
            "`mercato up` creates them; elsewhere set MERCATO_SERVICE_KEY_FILE and "
            "MERCATO_SERVICE_JWKS_FILE (docs/zero-trust.md)")
    try:
        key = load_private_key(Path(key_file))
    except KeyError as exc:
        raise IdentityUnavailable(str(exc)) from None
    keys = ServiceKeys.from_file(Path(jwks_file))
    kid = public_jwk(service, key)["kid"]
    try:
        keys.key(kid)
    except AuthError:  # nobody would accept this process's tokens
        raise IdentityUnavailable(f"the service JWKS {jwks_file} does not hold {service}'s "
                                  f"key {kid}: restart `mercato up`") from None
    return ServiceIdentity(service, key, kid, keys, leeway=settings.clock_skew_leeway)


def shared_secret(settings: Settings, name: str) -> str:
    """A secret shared by the few services that need it (``card-seal``, ``pages``): the
    file its setting names, else the data dir's, created there in development only."""
    configured = getattr(settings, f"{name.replace('-', '_')}_key_file")
    if configured is not None:
        try:
            return Path(configured).read_text().strip()
        except OSError as exc:
            raise IdentityUnavailable(f"cannot read the {name} secret {configured}: "
                                      f"{exc.strerror}") from None
    if settings.env == "production":
        raise IdentityUnavailable(f"the {name} secret file must be set outside development")
    return ensure_secret(secret_path(settings.data_dir, name))

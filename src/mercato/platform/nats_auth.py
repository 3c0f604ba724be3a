"""Authentication to the embedded NATS server: one nkey user per process kind, each with
the least privilege of ``nats_permissions.py``.

The users are the nine services, ``mobile-bff`` (registry only), ``gateway``,
``supervisor`` (``mercato up`` itself and the deploy tooling: registry reads, routing
writes, stream set-up) and ``cli`` (the read-only commands: ``events tail``, ``dlq list``,
``status``, ``verify``). Each has an
nkey seed at ``<keys dir>/nats/<user>.nk`` (mode 0600, in a 0700 directory), created once
and reused; the server's configuration holds only the public keys, so reading it gives
no way in, and a process can authenticate as nobody but the user whose seed it was given.

How the supervisor uses it: before starting the server, ``keys = ensure_credentials(
data_dir / "keys")`` and ``nats_command(port, store, users=nats_users(keys))``; then it
connects itself as ``supervisor`` and creates the event streams, the dead-letter stream
and both KV buckets (``stream_setup`` in ``nats_permissions.py``), and starts each child
with ``MERCATO_NATS_NKEY_FILE=<its seed path>`` (``child_env`` in platform/workload_keys.py).
The child connects with ``nats.connect(nats_servers(url), nkeys_seed=path,
inbox_prefix="_INBOX.<user>")`` (``connect_options`` in chassis/messaging/credentials.py;
``url`` is a comma list on a cluster, and every node gets the same users):
the per-user inbox prefix is required, since each user may subscribe only to its own
inboxes; it keeps one user from reading another's replies (PubAcks, fetched events).
"""

from __future__ import annotations

import os
from pathlib import Path

import nkeys

from mercato.chassis.messaging.credentials import seed_path
from mercato.platform.nats_permissions import USERS, permissions


def credentials_dir(keys_dir: Path) -> Path:
    return seed_path(keys_dir, "-").parent


def _new_seed() -> bytes:
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)


def public_key_of(seed_file: Path) -> str:
    """The public key (``U...``) of a user seed file; ``ValueError`` if it holds no user
    seed."""
    seed = bytearray(Path(seed_file).read_bytes().strip())
    try:
        pair = nkeys.from_seed(seed)
        public = pair.public_key.decode()
    except (nkeys.NkeysError, ValueError, TypeError) as exc:
        raise ValueError(f"{seed_file} holds no nkey seed ({exc or type(exc).__name__})") \
            from None
    if not public.startswith("U"):
        raise ValueError(f"{seed_file} holds an nkey seed, but not a user's")
    return public


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only, all at once (never half a seed)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)


def ensure_credentials(keys_dir: Path, users: tuple[str, ...] = USERS) -> dict[str, Path]:
    """Each user's seed file, created if missing and reused otherwise (a seed that is
    there but unreadable raises ``ValueError``: it is not silently replaced)."""
    folder = credentials_dir(keys_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    found: dict[str, Path] = {}
    for user in users:
        path = seed_path(keys_dir, user)
        if path.exists():
            path.chmod(0o600)
            public_key_of(path)
        else:
            _write_private(path, _new_seed())
        found[user] = path
    return found


def public_keys(credentials: dict[str, Path]) -> dict[str, str]:
    """User -> public key, for the server's configuration."""
    return {user: public_key_of(path) for user, path in credentials.items()}


def nats_users(credentials: dict[str, Path]) -> dict[str, tuple[str, dict]]:
    """User -> (public key, permissions): the ``users`` argument of ``nats_config``."""
    return {user: (key, permissions(user)) for user, key in public_keys(credentials).items()}





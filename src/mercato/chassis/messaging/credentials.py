"""How a process logs in to NATS: as one user, with its nkey seed, on its own inboxes.

The users and their permissions are the supervisor's (platform/nats_auth.py,
platform/nats_permissions.py, docs/zero-trust.md part 3); this module is the one home of what
both sides must agree on — where a user's seed is kept, the inbox prefix a user's
connection uses (each user may subscribe only to its own inboxes, so no one reads
another's replies) — and of the ``nats.connect`` keyword arguments built from them.
"""

from __future__ import annotations

from pathlib import Path

NKEY_FILE_ENV = "MERCATO_NATS_NKEY_FILE"


def seed_path(keys_dir: Path, user: str) -> Path:
    """Where ``mercato up`` keeps ``user``'s nkey seed: ``<keys dir>/nats/<user>.nk``."""
    return Path(keys_dir) / "nats" / f"{user}.nk"


def inbox_prefix(user: str) -> str:
    """The inbox prefix of ``user``'s connections (``nats.connect(inbox_prefix=...)``)."""
    return f"_INBOX.{user}"


def connect_options(user: str, seed_file: Path | str | None) -> dict[str, str]:
    """The ``nats.connect`` keyword arguments of ``user``: its seed and its inboxes;
    none without a seed (a server of one's own, as unit and integration tests run)."""
    if seed_file is None:
        return {}
    return {"nkeys_seed": str(seed_file), "inbox_prefix": inbox_prefix(user)}

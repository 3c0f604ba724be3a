"""`mercato up --profile`: the embedded stack a newcomer runs, or the production stack on
one machine (docs/production.md §3).

``production`` means: each service's data in PostgreSQL (``MERCATO_DATABASE_URL``), a
three-node NATS cluster (``sync_interval: always``, three copies of every stream), the
gateway's limits and the catalog's cache in Redis (``MERCATO_REDIS_URL``), and
``MERCATO_ENV=production`` for the supervisor and every process it starts, so no
development default is accepted. What is missing is named all at once, before anything
starts.
"""

from __future__ import annotations

import os

from mercato.chassis.settings import MissingSettings, Settings, load_settings

PROFILES = ("embedded", "production")
PRODUCTION_NATS_NODES = 3
# what the production profile must be given, besides identity's secrets
PRODUCTION_SERVERS = ("MERCATO_DATABASE_URL", "MERCATO_REDIS_URL")


def apply_profile(profile: str, nats_nodes: int) -> tuple[Settings, int]:
    """The supervisor's settings and its NATS node count under ``profile``; raises
    ``MissingSettings`` naming everything the production profile lacks."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose {' or '.join(PROFILES)}")
    if profile == "production":
        os.environ["MERCATO_ENV"] = "production"  # inherited by every child process
        nats_nodes = max(nats_nodes, PRODUCTION_NATS_NODES)
    settings = load_settings()
    missing = [name for name in PRODUCTION_SERVERS
               if profile == "production" and not os.environ.get(name)]
    if settings.env == "production":
        missing += settings.left_at_default("admin_password", "signing_key_file")
    if missing:
        where = "for the production profile" if profile == "production" else (
            "outside development")
        raise MissingSettings(f"{', '.join(missing)} must be set {where}")
    return settings, nats_nodes

"""The outbox and inbox tables, created by each service's own Alembic history.

A service that publishes or consumes events adds a migration calling these, so the tables
live in its own database next to the state they are written with.
"""

from __future__ import annotations

import sqlalchemy as sa


def create_outbox_table(op) -> None:
    op.create_table(
        "outbox",
        # 64-bit on PostgreSQL (BIGSERIAL); INTEGER on SQLite, where it is the rowid
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("published_at", sa.String(40)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),  # dropped later
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "seq"])


def add_outbox_traceparent(op) -> None:
    """The trace context of the transaction that wrote a row (W3C ``traceparent``), so the
    relay's publish continues that trace (docs/observability.md)."""
    op.add_column("outbox", sa.Column("traceparent", sa.String(55)))


def drop_outbox_traceparent(op) -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("traceparent")


def drop_outbox_attempts(op) -> None:
    """The ``attempts`` column the first outbox had: never written nor read (the relay
    retries a row until the broker acknowledges it, without counting)."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("attempts")


def add_outbox_attempts(op) -> None:
    op.add_column("outbox", sa.Column("attempts", sa.Integer, nullable=False,
                                      server_default="0"))


def create_inbox_table(op) -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("handled_at", sa.String(40), nullable=False),
    )

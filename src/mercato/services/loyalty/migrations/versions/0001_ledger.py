"""ledger: every customer's entries, unique per order and kind; the inbox of the events
it follows and the outbox of LoyaltyPointsChanged

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from mercato.chassis.messaging.schema import (
    add_outbox_traceparent,
    create_inbox_table,
    create_outbox_table,
    drop_outbox_attempts,
)

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        # the order entries were written in: newest first, and the history's cursor
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("cause_event_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        # one credit and one reversal per order, whatever event id announced them
        sa.UniqueConstraint("order_id", "kind", name="uq_ledger_order_kind"),
    )
    op.create_index("ix_ledger_customer_seq", "ledger_entries", ["customer_id", "seq"])
    create_inbox_table(op)
    create_outbox_table(op)
    add_outbox_traceparent(op)
    drop_outbox_attempts(op)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("ledger_entries")

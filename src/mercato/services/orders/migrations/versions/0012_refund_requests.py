"""refund requests: a delivered order to be refunded, until it is (the orchestrated refund
step resumes from here after a crash; choreographed, PaymentRefunded completes it)

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "refund_requests",
        sa.Column("order_id", sa.String(64), primary_key=True),
        # the saga mode when asked: orders refunds it itself, or payments reacts
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("requested_at", sa.String(40), nullable=False),
        sa.Column("refunded_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_refund_requests_open", "refund_requests", ["refunded_at", "mode"])


def downgrade() -> None:
    op.drop_table("refund_requests")

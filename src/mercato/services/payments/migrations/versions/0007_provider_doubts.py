"""provider doubts: payments whose last card provider call has an unknown outcome (a
timeout), kept until the reconciler has looked them up and settled them (doubts.py)

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "provider_doubts",
        sa.Column("payment_id", sa.Text, primary_key=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("opened_at", sa.Text, nullable=False),
        sa.Column("settled_at", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
    )
    op.create_index("provider_doubts_open", "provider_doubts", ["settled_at", "opened_at"])


def downgrade() -> None:
    op.drop_table("provider_doubts")

"""messaging: the inbox, and the recipients (address and name) learnt from registrations

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from mercato.chassis.messaging.schema import create_inbox_table

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    create_inbox_table(op)
    op.create_table(
        "recipients",
        sa.Column("user_id", sa.String(100), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recipients")
    op.drop_table("inbox")

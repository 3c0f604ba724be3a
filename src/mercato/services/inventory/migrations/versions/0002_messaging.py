"""messaging: the outbox (stock movements) and the inbox (new products)

Revision ID: 0002
"""

from alembic import op

from mercato.chassis.messaging.schema import create_inbox_table, create_outbox_table

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    create_outbox_table(op)
    create_inbox_table(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")

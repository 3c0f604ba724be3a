"""checkout intents: what OrderPlaced said, kept for a choreographed authorization; the
inbox of payments' consumers

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from mercato.chassis.messaging.schema import create_inbox_table

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "checkout_intents",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        # minor units, 64-bit like payments.amount on PostgreSQL; as before on SQLite
        sa.Column("amount", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("sealed_card_token", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        # OrderPlaced's ``checkout``: only choreographed orders are acted on here
        sa.Column("checkout", sa.Text, nullable=False, server_default="orchestration"),
    )
    create_inbox_table(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("checkout_intents")

"""checkout intents: the address and lines OrderPlaced gave, kept for a choreographed
shipment; the inbox of shipping's consumers

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
        sa.Column("address", sa.Text, nullable=False),  # JSON
        sa.Column("items", sa.Text, nullable=False),  # JSON [{product_id, quantity}]
        sa.Column("created_at", sa.Text, nullable=False),
        # OrderPlaced's ``checkout``: only choreographed orders are acted on here
        sa.Column("checkout", sa.Text, nullable=False, server_default="orchestration"),
    )
    create_inbox_table(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("checkout_intents")

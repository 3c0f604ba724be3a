"""loyalty balances: identity's one-row-per-customer projection of LoyaltyPointsChanged,
and the inbox of the events it consumes

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

from mercato.chassis.messaging.schema import create_inbox_table

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    create_inbox_table(op)
    op.create_table(
        "loyalty_balances",
        sa.Column("user_id", sa.String(100), primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        # the customer's entry count when loyalty announced it: only a later one replaces it
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("loyalty_balances")
    op.drop_table("inbox")

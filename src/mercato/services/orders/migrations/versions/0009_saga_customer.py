"""each saga row names its order's customer, so the checkouts one customer has in progress
can be counted (a customer may hold only a share of the platform's checkout capacity)

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.add_column("sagas", sa.Column("customer_id", sa.String(64)))
    op.create_index("ix_sagas_customer_phase", "sagas", ["customer_id", "phase"])


def downgrade() -> None:
    op.drop_index("ix_sagas_customer_phase", "sagas")
    with op.batch_alter_table("sagas") as batch:
        batch.drop_column("customer_id")

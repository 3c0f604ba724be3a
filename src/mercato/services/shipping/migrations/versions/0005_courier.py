"""the courier: when a shipment's order was confirmed (released to the courier) and when
its next step is due; an index that finds the due ones

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("released_at", sa.String(40), nullable=True))
        # fixed-width UTC text (domain.stamp): text order is time order
        batch.add_column(sa.Column("due_at", sa.String(40), nullable=True))
    op.create_index("ix_shipments_due_at", "shipments", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_shipments_due_at", "shipments")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("due_at")
        batch.drop_column("released_at")

"""messaging: the outbox, orders remember whether they came from the cart, and sagas no
longer track which outcome was notified (the outcome is an event now)

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from mercato.chassis.messaging.schema import create_outbox_table

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    create_outbox_table(op)
    op.add_column("orders", sa.Column("from_cart", sa.Boolean, nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("sagas") as batch:
        batch.drop_column("notified_status")


def downgrade() -> None:
    with op.batch_alter_table("sagas") as batch:
        batch.add_column(sa.Column("notified_status", sa.String(16)))
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("from_cart")
    op.drop_table("outbox")

"""each saga row keeps the trace context of the request that placed its order, so a saga
resumed after a restart goes on in that order's trace (docs/observability.md)

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("sagas", sa.Column("traceparent", sa.String(55)))


def downgrade() -> None:
    with op.batch_alter_table("sagas") as batch:
        batch.drop_column("traceparent")

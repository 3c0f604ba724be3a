"""a version on each saga row, for compare-and-set between orders replicas

Each save of a saga's progress writes ``version + 1`` where the row is still at the
version its runner read; a runner that lost the race reads again instead of writing over
newer progress. Existing rows start at 0.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("sagas", sa.Column("version", sa.Integer, nullable=False,
                                     server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sagas") as batch:
        batch.drop_column("version")

"""saga mode: whether a checkout is orchestrated (the runner drives it) or choreographed
(the participants' events drive it; the row records what was heard); the inbox of orders'
consumers, which hear those events

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

from mercato.chassis.messaging.schema import create_inbox_table

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("sagas") as batch:
        batch.add_column(sa.Column("mode", sa.Text, nullable=False,
                                   server_default="orchestration"))
    create_inbox_table(op)


def downgrade() -> None:
    op.drop_table("inbox")
    with op.batch_alter_table("sagas") as batch:
        batch.drop_column("mode")

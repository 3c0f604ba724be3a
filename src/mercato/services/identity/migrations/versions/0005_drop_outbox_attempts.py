"""the outbox loses its ``attempts`` column: never written nor read

Revision ID: 0005
"""

from alembic import op

from mercato.chassis.messaging.schema import add_outbox_attempts, drop_outbox_attempts

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    drop_outbox_attempts(op)


def downgrade() -> None:
    add_outbox_attempts(op)

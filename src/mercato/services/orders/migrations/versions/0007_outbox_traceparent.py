"""the outbox records the trace context of the transaction that wrote each event, so
the relay's publish continues that trace (docs/observability.md)

Revision ID: 0007
"""

from alembic import op

from mercato.chassis.messaging.schema import add_outbox_traceparent, drop_outbox_traceparent

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    add_outbox_traceparent(op)


def downgrade() -> None:
    drop_outbox_traceparent(op)

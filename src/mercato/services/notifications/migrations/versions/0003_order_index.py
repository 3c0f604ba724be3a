"""an index on notifications.order_id: the storefront and the admin read an order's
messages by it (GET /api/v1/notifications?order_id=), which scanned the whole table

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_index("ix_notifications_order_created", "notifications",
                    ["order_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_order_created", "notifications")

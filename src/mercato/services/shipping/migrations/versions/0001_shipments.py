"""shipments and tombstones

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tracking_number", sa.String(20), nullable=False, unique=True),
        sa.Column("address_name", sa.String(200), nullable=False),
        sa.Column("address_line1", sa.String(200), nullable=False),
        sa.Column("address_city", sa.String(100), nullable=False),
        sa.Column("address_postal_code", sa.String(20), nullable=False),
        sa.Column("address_country", sa.String(2), nullable=False),
        # [{product_id, quantity}] as JSON: read and written only as a whole.
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_shipments_order_id", "shipments", ["order_id", "created_at"])
    # Shipment ids cancelled before they were ever scheduled: they may never be scheduled.
    op.create_table(
        "shipment_tombstones",
        sa.Column("shipment_id", sa.String(100), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shipment_tombstones")
    op.drop_table("shipments")

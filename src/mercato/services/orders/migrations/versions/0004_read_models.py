"""read models of the orders: the customer's list, the order detail, the sales summary,
and the projector's positions

They start empty: the projector fills them from order_events at the next start-up.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "projection_positions",
        sa.Column("projection", sa.String(40), primary_key=True),
        # an order_events seq: 64-bit on PostgreSQL, as before on SQLite
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
    )
    op.create_table(
        "order_list_view",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_order_list_view_customer", "order_list_view",
                    ["customer_id", "created_at", "order_id"])
    op.create_table(
        "order_detail_view",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "sales_orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", sa.Text, nullable=False),
        sa.Column("counted_on", sa.String(10)),
    )
    op.create_table(
        "sales_by_day",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("revenue", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sales_by_product",
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("revenue", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("sales_by_product", "sales_by_day", "sales_orders", "order_detail_view",
                  "order_list_view", "projection_positions"):
        op.drop_table(table)

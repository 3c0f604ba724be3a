"""stock, adjustments ledger, reservations

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "stock",
        sa.Column("product_id", sa.String(100), primary_key=True),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("available", sa.BigInteger, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("sold", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        # The invariant, enforced by the database too: a buggy UPDATE fails loudly.
        sa.CheckConstraint("available >= 0 AND reserved >= 0 AND sold >= 0",
                           name="ck_stock_not_negative"),
        sa.CheckConstraint("on_hand = available + reserved + sold", name="ck_stock_adds_up"),
    )
    op.create_table(
        "adjustments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(100), nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_adjustments_product", "adjustments", ["product_id", "created_at"])
    op.create_table(
        "reservations",
        sa.Column("reservation_id", sa.String(100), primary_key=True),
        sa.Column("order_id", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tombstone", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("refusal", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=True),
    )
    # For the expiry sweeper: reservations still holding stock, oldest deadline first.
    op.create_index("ix_reservations_status_expires", "reservations", ["status", "expires_at"])
    op.create_table(
        "reservation_items",
        sa.Column("reservation_id", sa.String(100),
                  sa.ForeignKey("reservations.reservation_id"), primary_key=True),
        sa.Column("product_id", sa.String(100), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_reservation_items_positive"),
    )


def downgrade() -> None:
    op.drop_table("reservation_items")
    op.drop_table("reservations")
    op.drop_table("adjustments")
    op.drop_table("stock")

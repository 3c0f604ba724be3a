"""carts and cart items

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "cart_items",
        sa.Column("user_id", sa.String(200), sa.ForeignKey("carts.user_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("product_id", sa.String(100), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("added_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_cart_items_positive"),
    )


def downgrade() -> None:
    op.drop_table("cart_items")
    op.drop_table("carts")

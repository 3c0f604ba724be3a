"""signing keys: the keys that sign access tokens, with the times of their rotation
(docs/zero-trust.md section 5). The key an installation signed with so far (the
development file or MERCATO_SIGNING_KEY_FILE) is imported as the first active key when
identity starts (signing.py ``KeyRing.adopt``), so its sessions carry on.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("public_jwk", sa.Text, nullable=False),
        sa.Column("private_pem", sa.Text, nullable=True),  # erased when retired
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("activates_at", sa.String(40), nullable=False),
        sa.Column("retire_after", sa.String(40), nullable=True),
        sa.Column("retired_at", sa.String(40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")

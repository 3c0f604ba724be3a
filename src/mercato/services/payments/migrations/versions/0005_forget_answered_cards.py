"""no sealed card token kept for a checkout whose authorization was answered

Payments now empties an intent's sealed card token once the authorization is answered
(authorized, declined, given up) or the checkout is called off; this does it once for the
past, for every intent whose order has a payment. Nothing to undo on downgrade.

Revision ID: 0005
"""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("UPDATE checkout_intents SET sealed_card_token = ''"
               " WHERE order_id IN (SELECT order_id FROM payments)")


def downgrade() -> None:
    pass

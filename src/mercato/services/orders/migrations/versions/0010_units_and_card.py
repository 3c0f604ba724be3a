"""the units each order holds per product, indexed by customer, product and time (for the
per-customer limit on units per product per day); and no card token kept past its use

``order_units`` is filled from the OrderPlaced events of the last 24 hours (older orders
never count again). Card tokens go from the sagas that no longer need them (authorized,
or no longer going forward), and the sealed ones from the published OrderPlaced rows of
choreographed checkouts past that point: what the code now does at that step, done once
for the past. The downgrade drops the table; forgotten tokens stay forgotten.

This migration does not import the service's code: it keeps the shapes of its own time.

Revision ID: 0010
"""

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

STILL_NEEDED = "phase = 'forward' AND step IN ('reserve_stock', 'authorize_payment')"


def upgrade() -> None:
    op.create_table(
        "order_units",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("placed_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_order_units_customer_product_time", "order_units",
                    ["customer_id", "product_id", "placed_at"])
    conn = op.get_bind()
    _backfill_units(conn)
    conn.execute(sa.text(f"UPDATE sagas SET card_token = '' WHERE NOT ({STILL_NEEDED})"))
    _forget_sealed_cards(conn)


def downgrade() -> None:
    op.drop_index("ix_order_units_customer_product_time", "order_units")
    op.drop_table("order_units")


def _moment(at: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _backfill_units(conn) -> None:
    since = datetime.now(UTC) - timedelta(hours=24)
    insert = sa.text("INSERT INTO order_units (order_id, product_id, customer_id, units,"
                     " placed_at) VALUES (:order_id, :product_id, :customer, :units, :at)")
    for row in conn.execute(sa.text(
            "SELECT order_id, data, at FROM order_events WHERE type = 'OrderPlaced'")).mappings():
        moment = _moment(row["at"])
        if moment is None or moment <= since:
            continue
        placed = json.loads(row["data"])
        units: dict[str, int] = {}
        for line in placed["lines"]:
            units[line["product_id"]] = units.get(line["product_id"], 0) + line["quantity"]
        for product_id, n in units.items():
            conn.execute(insert, {
                "order_id": row["order_id"], "product_id": product_id,
                "customer": placed["customer"], "units": n,
                "at": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")})


def _forget_sealed_cards(conn) -> None:
    rows = conn.execute(sa.text(
        "SELECT id, body FROM outbox WHERE published_at IS NOT NULL AND subject = :subject"),
        {"subject": "mercato.orders.OrderPlaced"}).mappings().all()
    needed = {r["order_id"] for r in conn.execute(sa.text(
        f"SELECT order_id FROM sagas WHERE {STILL_NEEDED}")).mappings()}
    for row in rows:
        body = bytes(row["body"])
        envelope = json.loads(body)
        payload = envelope.get("payload") or {}
        if not payload.get("sealed_card_token") or payload.get("order_id") in needed:
            continue
        payload["sealed_card_token"] = None
        conn.execute(sa.text("UPDATE outbox SET body = :body WHERE id = :id"),
                     {"body": json.dumps(envelope).encode(), "id": row["id"]})

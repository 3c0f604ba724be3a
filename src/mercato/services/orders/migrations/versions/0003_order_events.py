"""the order is event-sourced: order_events replaces orders, order_lines and order_history

Every existing order becomes its events: OrderPlaced (its lines, currency, address,
customer, from_cart) at its creation, then one OrderConfirmed or OrderCancelled per later
history row, so an old database keeps its orders. Sagas lose their foreign key to orders.
The downgrade folds the events back into the three tables.

This migration does not import the service's code: it must keep reading and writing the
shapes of its own time (version 1 of each event's data) whatever the code becomes.

Revision ID: 0003
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

SAGA_COLUMNS = "order_id, card_token, phase, step, reason, cancel_requested, state, updated_at"


def upgrade() -> None:
    op.create_table(
        "order_events",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        # 64-bit on PostgreSQL; exactly as before on SQLite, whose integers are 64-bit
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_index("ix_order_events_seq", "order_events", ["seq"], unique=True)
    _backfill_events(op.get_bind())
    _recreate_sagas(references_orders=False)
    for table in ("order_history", "order_lines", "orders"):
        op.drop_table(table)


def downgrade() -> None:
    _create_legacy_tables()
    _fold_back(op.get_bind())
    _recreate_sagas(references_orders=True)
    op.drop_index("ix_order_events_seq", "order_events")
    op.drop_table("order_events")


def _sortable(at: str) -> str:
    """``at`` as fixed-width UTC text, so that text order is time order."""
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds")


def _insertion_order(conn) -> str:
    """The column giving a table's rows in the order they were written: SQLite's rowid;
    on PostgreSQL (which has none) ctid, the row's place, in insertion order for rows
    never updated, as order lines never were (no PostgreSQL database predates this
    revision: they all pass it empty)."""
    return "rowid" if conn.dialect.name == "sqlite" else "ctid"


def _backfill_events(conn) -> None:
    rows = []  # (sort key, order_id, version, type, data, at)
    written = _insertion_order(conn)
    for order in conn.execute(sa.text("SELECT * FROM orders")).mappings().all():
        lines = conn.execute(sa.text(
            "SELECT product_id, name, quantity, unit_price FROM order_lines"
            f" WHERE order_id = :id ORDER BY {written}"), {"id": order["id"]}).mappings().all()
        history = conn.execute(sa.text(
            "SELECT status, reason, at FROM order_history WHERE order_id = :id ORDER BY seq"),
            {"id": order["id"]}).mappings().all()
        placed = {"customer": order["customer_id"], "currency": order["currency"],
                  "address": json.loads(order["shipping_address"]),
                  "from_cart": bool(order["from_cart"]), "lines": [dict(x) for x in lines]}
        stream = [("OrderPlaced", placed, order["created_at"])]
        confirmed = False
        for change in history:
            if change["status"] == "confirmed":
                stream.append(("OrderConfirmed", {}, change["at"]))
                confirmed = True
            elif change["status"] == "cancelled":
                stream.append(("OrderCancelled", {"reason": change["reason"] or "",
                                                  "refunded": confirmed}, change["at"]))
        # seq follows time across orders, and never goes back within one order
        last = ""
        for version, (kind, data, at) in enumerate(stream, 1):
            last = max(last, _sortable(at))
            rows.append(((last, order["id"], version), order["id"], version, kind,
                         json.dumps(data), at))
    rows.sort(key=lambda r: r[0])
    insert = sa.text("INSERT INTO order_events (order_id, version, seq, type, data, at)"
                     " VALUES (:order_id, :version, :seq, :type, :data, :at)")
    for seq, (_key, order_id, version, kind, data, at) in enumerate(rows, 1):
        conn.execute(insert, {"order_id": order_id, "version": version, "seq": seq,
                              "type": kind, "data": data, "at": at})


def _recreate_sagas(*, references_orders: bool) -> None:
    order_id = (sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"),
                          primary_key=True) if references_orders
                else sa.Column("order_id", sa.String(36), primary_key=True))
    op.create_table(
        "sagas_new",
        order_id,
        sa.Column("card_token", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.execute(f"INSERT INTO sagas_new ({SAGA_COLUMNS}) SELECT {SAGA_COLUMNS} FROM sagas")
    op.drop_index("ix_sagas_phase", "sagas")
    op.drop_table("sagas")
    op.rename_table("sagas_new", "sagas")
    if op.get_bind().dialect.name == "postgresql":  # its constraint names follow the table
        op.execute("ALTER TABLE sagas RENAME CONSTRAINT sagas_new_pkey TO sagas_pkey")
    op.create_index("ix_sagas_phase", "sagas", ["phase"])


def _create_legacy_tables() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("shipping_address", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("from_cart", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_orders_customer_created", "orders", ["customer_id", "created_at"])
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "order_history",
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("at", sa.String(40), nullable=False),
    )


def _fold_back(conn) -> None:
    streams: dict[str, list] = {}
    for e in conn.execute(sa.text(
            "SELECT order_id, type, data, at FROM order_events ORDER BY order_id, version")
            ).mappings():
        streams.setdefault(e["order_id"], []).append(e)
    for order_id, events in streams.items():
        placed = json.loads(events[0]["data"])
        history = [("pending", None, events[0]["at"])]
        for e in events[1:]:
            if e["type"] == "OrderConfirmed":
                history.append(("confirmed", None, e["at"]))
            elif e["type"] == "OrderCancelled":
                history.append(("cancelled", json.loads(e["data"])["reason"], e["at"]))
        status, reason, _ = history[-1]
        conn.execute(sa.text(
            "INSERT INTO orders (id, customer_id, status, reason, currency, total,"
            " shipping_address, created_at, updated_at, from_cart) VALUES (:id, :customer,"
            " :status, :reason, :currency, :total, :address, :created, :updated, :from_cart)"),
            {"id": order_id, "customer": placed["customer"], "status": status,
             "reason": reason, "currency": placed["currency"],
             "total": sum(x["quantity"] * x["unit_price"] for x in placed["lines"]),
             "address": json.dumps(placed["address"]), "created": events[0]["at"],
             "updated": events[-1]["at"], "from_cart": bool(placed.get("from_cart"))})
        for line in placed["lines"]:
            conn.execute(sa.text(
                "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_price)"
                " VALUES (:order_id, :product_id, :name, :quantity, :unit_price)"),
                {"order_id": order_id, **line})
        for seq, (state, why, at) in enumerate(history):
            conn.execute(sa.text(
                "INSERT INTO order_history (order_id, seq, status, reason, at)"
                " VALUES (:order_id, :seq, :status, :reason, :at)"),
                {"order_id": order_id, "seq": seq, "status": state, "reason": why, "at": at})

"""Read model: one order as ``GET /api/v1/orders/{id}`` shows it, history and progress
included, kept as the finished JSON document so a read is one row."""

from __future__ import annotations

import json

from mercato.chassis.data import Connection, Database
from mercato.services.orders.domain.events import (
    OrderCancelled,
    OrderPlaced,
    OrderProgressed,
    Recorded,
)
from mercato.services.orders.domain.order import STATUS_OF, Order, Status
from mercato.services.orders.domain.progress import Milestone, progress_list


class OrderDetail:
    name = "order_detail"
    tables = ("order_detail_view",)

    async def apply(self, tx: Connection, record: Recorded) -> None:
        event = record.event
        if isinstance(event, OrderPlaced):
            document = Order.fold([record]).as_dict()
            await tx.execute(
                "INSERT INTO order_detail_view (order_id, customer_id, version, document)"
                " VALUES (?, ?, ?, ?)", record.order_id, event.customer,
                record.version, json.dumps(document))
            return
        row = await tx.fetch_one("SELECT document FROM order_detail_view WHERE order_id = ?",
                                 record.order_id)
        document = json.loads(row["document"])
        if isinstance(event, OrderProgressed):
            _reached(document, event.step, record.at)
        else:
            if isinstance(event, OrderCancelled):
                status, reason = Status.CANCELLED, event.reason
                document["reason"] = reason
            else:
                status, reason = STATUS_OF[type(event)], None
                _reached(document, status.value, record.at)
            document["status"] = status.value
            document["history"].append({"status": status.value, "at": record.at,
                                        "reason": reason})
        await tx.execute(
            "UPDATE order_detail_view SET version = ?, document = ? WHERE order_id = ?",
            record.version, json.dumps(document), record.order_id)


def _reached(document: dict, step: str, at: str) -> None:
    progress = {p["step"]: p["at"] for p in with_progress(document)["progress"]}
    progress.setdefault(step, at)
    document["progress"] = progress_list(progress)


def with_progress(document: dict) -> dict:
    """``document`` with its ``progress``; one written before orders kept a timeline gets
    what its history tells (placed, confirmed)."""
    if "progress" not in document:
        known = {Milestone.PLACED.value: document["history"][0]["at"]}
        known.update({h["status"]: h["at"] for h in document["history"]
                      if h["status"] == Status.CONFIRMED.value})
        document["progress"] = progress_list(known)
    return document


async def order_document(db: Database, order_id: str) -> dict | None:
    row = await db.fetch_one("SELECT document FROM order_detail_view WHERE order_id = ?",
                             order_id)
    return with_progress(json.loads(row["document"])) if row else None

"""What the saga asks of other services, as a port, and its HTTP adapter.

Every id the saga sends is derived from the order id and the step, so a retried or
duplicated call names the same reservation, payment or shipment and never acts twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from mercato.chassis import Reply, ServiceClient, Unavailable
from mercato.services.orders.domain.order import Order

NAMESPACE = uuid.UUID("6f1d3c2e-6d0b-4f55-9a5e-2b8e0f4d7c11")


def derived_id(order_id: str, what: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{order_id}/{what}"))


@dataclass(frozen=True)
class Result:
    outcome: str  # ok | rejected | transient (it answered 5xx) | unreachable (no answer)
    detail: str = ""
    reason: str | None = None  # a cancellation reason the refusal implies, if not the step's
    refunded: bool = False  # a compensation that gave captured money back (or found it given)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


OK = Result("ok")


class Participants(Protocol):
    async def reserve_stock(self, order: Order) -> Result: ...
    async def authorize_payment(self, order: Order, card_token: str) -> Result: ...
    async def schedule_shipment(self, order: Order) -> Result: ...
    async def capture_payment(self, order: Order) -> Result: ...
    async def confirm_order(self, order: Order) -> Result: ...
    async def release_stock(self, order: Order) -> Result: ...
    async def void_payment(self, order: Order) -> Result: ...
    async def cancel_shipment(self, order: Order) -> Result: ...
    async def refund_payment(self, order: Order) -> Result: ...
    async def return_stock(self, order: Order) -> Result: ...


def _interpret(reply: Reply, *, rejections: tuple[int, ...]) -> Result:
    if reply.ok:
        return OK
    detail = f"{reply.status}: {_detail(reply)}"
    if reply.status == 409 and _kind(reply) == "reservation-expired":
        # the stock was given back because the saga took too long: nothing to wait for
        return Result("rejected", detail, reason="expired")
    if reply.status in rejections:
        return Result("rejected", detail)
    if reply.status >= 500 or reply.status in (404, 408, 429):
        return Result("transient", detail)
    return Result("rejected", detail)


def _problem(reply: Reply) -> dict:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _kind_of(problem: dict) -> str:
    return str(problem.get("type", "")).rsplit("/", 1)[-1]


def _kind(reply: Reply) -> str:
    """The last segment of a problem's ``type`` (e.g. ``reservation-expired``)."""
    return _kind_of(_problem(reply))


def _detail(reply: Reply) -> str:
    try:
        return str((reply.json() or {}).get("detail", ""))[:300]
    except ValueError:
        return reply.body[:200].decode("utf-8", "replace")


class HttpParticipants:
    """The participants reached over HTTP through the registry."""

    def __init__(self, client: ServiceClient, step_timeout: float) -> None:
        self._client = client
        self._timeout = step_timeout

    async def _call(self, service: str, path: str, body: dict | None, key: str,
                    rejections: tuple[int, ...] = (402, 409, 422)) -> Result:
        try:
            reply = await self._client.call(service, "POST", path, json_body=body or {},
                                            idempotency_key=key, timeout=self._timeout)
        except Unavailable as exc:
            return Result("unreachable", str(exc))
        return _interpret(reply, rejections=rejections)

    async def _undo(self, service: str, path: str, key: str,
                    done_if: Callable[[dict], bool] = lambda _p: False) -> tuple[Result, dict]:
        """One compensating call. Done when it succeeded, when the thing is unknown (404)
        or tombstoned (``already-cancelled``), or when ``done_if`` recognises the refusal
        as "nothing left to undo". Any other refusal (401/403/400/422, or a 409 this undo
        does not understand) is *not* done: it is retried, and logged on every attempt,
        because marking it done could leave money or stock behind."""
        try:
            reply = await self._client.call(service, "POST", path, json_body={},
                                            idempotency_key=key, timeout=self._timeout)
        except Unavailable as exc:
            return Result("unreachable", str(exc)), {}
        problem = _problem(reply)
        detail = f"{reply.status}: {problem.get('detail', '')}"[:300]
        if reply.ok or reply.status == 404:
            return Result("ok", "" if reply.ok else detail), problem
        kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
        if reply.status == 409 and (kind == "already-cancelled" or done_if(problem)):
            return Result("ok", detail), problem
        return Result("transient", detail), problem

    async def reserve_stock(self, order: Order) -> Result:
        rid = derived_id(order.id, "reservation")
        items = [{"product_id": x.product_id, "quantity": x.quantity} for x in order.lines]
        return await self._call("inventory", "/internal/reservations",
                                {"reservation_id": rid, "order_id": order.id, "items": items}, rid)

    async def authorize_payment(self, order: Order, card_token: str) -> Result:
        pid = derived_id(order.id, "payment")
        body = {"payment_id": pid, "order_id": order.id, "customer_id": order.customer_id,
                "amount": order.total, "currency": order.currency, "card_token": card_token}
        return await self._call("payments", "/internal/payments/authorize", body, pid)

    async def schedule_shipment(self, order: Order) -> Result:
        sid = derived_id(order.id, "shipment")
        body = {"shipment_id": sid, "order_id": order.id, "customer_id": order.customer_id,
                "address": order.shipping_address,
                "items": [{"product_id": x.product_id, "quantity": x.quantity}
                          for x in order.lines]}
        return await self._call("shipping", "/internal/shipments", body, sid)

    async def capture_payment(self, order: Order) -> Result:
        pid = derived_id(order.id, "payment")
        return await self._call("payments", f"/internal/payments/{pid}/capture", None,
                                f"{pid}/capture")

    async def confirm_order(self, order: Order) -> Result:
        rid = derived_id(order.id, "reservation")
        result = await self._call("inventory", f"/internal/reservations/{rid}/commit", None,
                                  f"{rid}/commit", rejections=())
        # Once payment is captured a commit is refused for good only when the reservation
        # expired (then the saga refunds and cancels); anything else: keep trying.
        if result.ok or result.reason == "expired":
            return result
        return Result("transient", result.detail)

    async def release_stock(self, order: Order) -> Result:
        rid = derived_id(order.id, "reservation")
        result, problem = await self._undo(
            "inventory", f"/internal/reservations/{rid}/release", f"{rid}/release")
        if _kind_of(problem) == "already-committed":  # the goods were sold: bring them back
            return await self.return_stock(order)
        return result

    async def void_payment(self, order: Order) -> Result:
        pid = derived_id(order.id, "payment")
        result, problem = await self._undo(
            "payments", f"/internal/payments/{pid}/void", f"{pid}/void",
            done_if=lambda p: p.get("payment_status") in ("voided", "refunded", "failed"))
        if problem.get("payment_status") == "captured":  # a capture landed late: refund it
            return await self.refund_payment(order)
        if problem.get("payment_status") == "refunded":  # refunded by an earlier undo
            return replace(result, refunded=True)
        return result

    async def cancel_shipment(self, order: Order) -> Result:
        sid = derived_id(order.id, "shipment")
        # Delivered already (the customer's cancel and the courier crossed): nothing can
        # be called back; `mercato verify` names such an order.
        result, _ = await self._undo(
            "shipping", f"/internal/shipments/{sid}/cancel", f"{sid}/cancel",
            done_if=lambda p: _kind_of(p) == "already-delivered")
        return result

    async def refund_payment(self, order: Order) -> Result:
        pid = derived_id(order.id, "payment")
        # Not captured (authorized, voided, failed): nothing to refund; a void follows.
        result, answer = await self._undo(
            "payments", f"/internal/payments/{pid}/refund", f"{pid}/refund",
            done_if=lambda p: p.get("payment_status") in ("authorized", "voided", "failed",
                                                          "refunded"))
        if "refunded" in (answer.get("status"), answer.get("payment_status")):
            return replace(result, refunded=True)
        return result

    async def return_stock(self, order: Order) -> Result:
        rid = derived_id(order.id, "reservation")
        result = await self._call("inventory", f"/internal/reservations/{rid}/return", None,
                                  f"{rid}/return", rejections=())
        return result if result.ok else Result("transient", result.detail)

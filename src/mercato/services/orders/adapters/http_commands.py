"""The saga's commands over HTTP: ``POST /internal/...`` of inventory, payments and
shipping through the registry, each reply turned into an ``Answer`` (a problem's kind,
detail and members, or a success's fields) for the domain to read."""

from __future__ import annotations

from mercato.chassis import Reply, ServiceClient, Unavailable
from mercato.contracts.ids import payment_id, reservation_id, shipment_id
from mercato.services.orders.domain.answers import Answer, Result
from mercato.services.orders.domain.order import Order


def answer_of(reply: Reply) -> Answer:
    """An HTTP reply as the domain reads it."""
    try:
        body = reply.json()
    except ValueError:
        return Answer(reply.status, detail=reply.body[:200].decode("utf-8", "replace"))
    if not isinstance(body, dict):
        return Answer(reply.status)
    if reply.ok:
        return Answer(reply.status, facts=body)
    kind = str(body.get("type", "")).rsplit("/", 1)[-1]
    return Answer(reply.status, kind, str(body.get("detail", ""))[:300], body)


class HttpCommands:
    def __init__(self, client: ServiceClient, step_timeout: float) -> None:
        self._client = client
        self._timeout = step_timeout

    async def _send(self, service: str, path: str, body: dict | None, key: str
                    ) -> Answer | Result:
        try:
            reply = await self._client.call(service, "POST", path, json_body=body or {},
                                            idempotency_key=key, timeout=self._timeout)
        except Unavailable as exc:
            return Result("unreachable", str(exc))
        return answer_of(reply)

    async def reserve(self, order: Order) -> Answer | Result:
        rid = reservation_id(order.id)
        items = [{"product_id": x.product_id, "quantity": x.quantity} for x in order.lines]
        return await self._send("inventory", "/internal/reservations",
                                {"reservation_id": rid, "order_id": order.id, "items": items},
                                rid)

    async def authorize(self, order: Order, card_token: str) -> Answer | Result:
        pid = payment_id(order.id)
        body = {"payment_id": pid, "order_id": order.id, "customer_id": order.customer_id,
                "amount": order.total, "currency": order.currency, "card_token": card_token}
        return await self._send("payments", "/internal/payments/authorize", body, pid)

    async def schedule(self, order: Order) -> Answer | Result:
        sid = shipment_id(order.id)
        body = {"shipment_id": sid, "order_id": order.id, "customer_id": order.customer_id,
                "address": order.shipping_address,
                "items": [{"product_id": x.product_id, "quantity": x.quantity}
                          for x in order.lines]}
        return await self._send("shipping", "/internal/shipments", body, sid)

    async def capture(self, order: Order) -> Answer | Result:
        pid = payment_id(order.id)
        return await self._send("payments", f"/internal/payments/{pid}/capture", None,
                                f"{pid}/capture")

    async def commit(self, order: Order) -> Answer | Result:
        rid = reservation_id(order.id)
        return await self._send("inventory", f"/internal/reservations/{rid}/commit", None,
                                f"{rid}/commit")

    async def release(self, order: Order) -> Answer | Result:
        rid = reservation_id(order.id)
        return await self._send("inventory", f"/internal/reservations/{rid}/release", None,
                                f"{rid}/release")

    async def void(self, order: Order) -> Answer | Result:
        pid = payment_id(order.id)
        return await self._send("payments", f"/internal/payments/{pid}/void", None,
                                f"{pid}/void")

    async def cancel_shipment(self, order: Order) -> Answer | Result:
        sid = shipment_id(order.id)
        return await self._send("shipping", f"/internal/shipments/{sid}/cancel", None,
                                f"{sid}/cancel")

    async def refund(self, order: Order) -> Answer | Result:
        pid = payment_id(order.id)
        return await self._send("payments", f"/internal/payments/{pid}/refund", None,
                                f"{pid}/refund")

    async def return_goods(self, order: Order) -> Answer | Result:
        rid = reservation_id(order.id)
        return await self._send("inventory", f"/internal/reservations/{rid}/return", None,
                                f"{rid}/return")

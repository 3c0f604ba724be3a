"""The saga's commands over gRPC (contracts/proto): the same commands, ids and
idempotency as over HTTP (http_commands.py), each reply turned into the same ``Answer``:
a success's fields, or a refusal's status, kind and facts from its trailers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.protobuf.json_format import MessageToDict

from mercato.chassis import Unavailable
from mercato.contracts.ids import payment_id, reservation_id, shipment_id
from mercato.contracts.proto import inventory_pb2 as inv
from mercato.contracts.proto import payments_pb2 as pay
from mercato.contracts.proto import shipping_pb2 as ship
from mercato.services.orders.domain.answers import Answer, Result
from mercato.services.orders.domain.order import Order

if TYPE_CHECKING:  # grpc is loaded only where it is used (Runtime.grpc_on)
    from mercato.chassis.rpc import RpcClient

RESERVATIONS = "/mercato.inventory.v1.Reservations/"
PAYMENTS = "/mercato.payments.v1.Payments/"
SHIPMENTS = "/mercato.shipping.v1.Shipments/"


class GrpcCommands:
    def __init__(self, rpc: RpcClient, step_timeout: float) -> None:
        self._rpc = rpc
        self._timeout = step_timeout

    async def _send(self, service: str, method: str, request: Any, reply_type: Any
                    ) -> Answer | Result:
        try:
            reply = await self._rpc.call(service, method, request, reply_type,
                                         timeout=self._timeout)
        except Unavailable as exc:
            return Result("unreachable", str(exc))
        if reply.ok:
            return Answer(200, facts=MessageToDict(reply.message,
                                                   preserving_proto_field_name=True))
        return Answer(reply.status, reply.kind, reply.detail[:300], reply.facts)

    async def reserve(self, order: Order) -> Answer | Result:
        request = inv.ReserveRequest(
            reservation_id=reservation_id(order.id), order_id=order.id,
            items=[inv.Item(product_id=x.product_id, quantity=x.quantity)
                   for x in order.lines])
        return await self._send("inventory", RESERVATIONS + "Reserve", request, inv.Reservation)

    async def authorize(self, order: Order, card_token: str) -> Answer | Result:
        request = pay.AuthorizeRequest(
            payment_id=payment_id(order.id), order_id=order.id,
            customer_id=order.customer_id, amount=order.total, currency=order.currency,
            card_token=card_token)
        return await self._send("payments", PAYMENTS + "Authorize", request, pay.Payment)

    async def schedule(self, order: Order) -> Answer | Result:
        a = order.shipping_address
        request = ship.ScheduleRequest(
            shipment_id=shipment_id(order.id), order_id=order.id,
            customer_id=order.customer_id,
            address=ship.Address(**{k: str(a.get(k, "")) for k in (
                "name", "line1", "city", "postal_code", "country")}),
            items=[ship.Item(product_id=x.product_id, quantity=x.quantity)
                   for x in order.lines])
        return await self._send("shipping", SHIPMENTS + "Schedule", request, ship.Shipment)

    async def _reservation(self, order: Order, method: str) -> Answer | Result:
        ref = inv.ReservationRef(reservation_id=reservation_id(order.id))
        return await self._send("inventory", RESERVATIONS + method, ref, inv.Reservation)

    async def _payment(self, order: Order, method: str) -> Answer | Result:
        ref = pay.PaymentRef(payment_id=payment_id(order.id))
        return await self._send("payments", PAYMENTS + method, ref, pay.Payment)

    async def capture(self, order: Order) -> Answer | Result:
        return await self._payment(order, "Capture")

    async def commit(self, order: Order) -> Answer | Result:
        return await self._reservation(order, "Commit")

    async def release(self, order: Order) -> Answer | Result:
        return await self._reservation(order, "Release")

    async def void(self, order: Order) -> Answer | Result:
        return await self._payment(order, "Void")

    async def cancel_shipment(self, order: Order) -> Answer | Result:
        ref = ship.ShipmentRef(shipment_id=shipment_id(order.id))
        return await self._send("shipping", SHIPMENTS + "Cancel", ref, ship.Shipment)

    async def refund(self, order: Order) -> Answer | Result:
        return await self._payment(order, "Refund")

    async def return_goods(self, order: Order) -> Answer | Result:
        return await self._reservation(order, "Return")

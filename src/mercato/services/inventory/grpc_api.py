"""Inventory's gRPC entrypoint (contracts/proto/inventory.proto): the orchestrator's
reservation commands, the same handlers as the ``/internal/reservations`` routes; domain
errors become statuses through the service's table (the chassis' gate)."""

from __future__ import annotations

from mercato.chassis.rpc import Served, allow, number, some, text
from mercato.contracts.proto import inventory_pb2 as pb
from mercato.contracts.proto import inventory_pb2_grpc as pb_grpc
from mercato.services.inventory.domain import Reservation
from mercato.services.inventory.handlers import Inventory


class ReservationsServicer(pb_grpc.ReservationsServicer):
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    @allow("orders")
    async def Reserve(self, request: pb.ReserveRequest, context) -> pb.Reservation:
        items = [(text(i.product_id, "items.product_id"),
                  number(i.quantity, "items.quantity", low=1, high=10**6))
                 for i in some(request.items, "items", most=100)]
        answer, created = await self.inventory.reserve(
            text(request.reservation_id, "reservation_id"),
            text(request.order_id, "order_id"), items)
        return _message(answer, created)

    @allow("orders")
    async def Commit(self, request: pb.ReservationRef, context) -> pb.Reservation:
        return _of(await self.inventory.commit(_id(request)))

    @allow("orders")
    async def Release(self, request: pb.ReservationRef, context) -> pb.Reservation:
        return _of(await self.inventory.release(_id(request)))

    @allow("orders")
    async def Return(self, request: pb.ReservationRef, context) -> pb.Reservation:
        return _of(await self.inventory.return_goods(_id(request)))


def _id(request: pb.ReservationRef) -> str:
    return text(request.reservation_id, "reservation_id")


def _of(reservation: Reservation) -> pb.Reservation:
    return _message(reservation.as_dict(), False)


def _message(answer: dict, created: bool) -> pb.Reservation:
    return pb.Reservation(
        reservation_id=answer["reservation_id"], order_id=answer["order_id"],
        status=answer["status"], expires_at=answer["expires_at"] or "", created=created,
        items=[pb.Item(product_id=i["product_id"], quantity=i["quantity"])
               for i in answer["items"]])


def served(inventory: Inventory) -> list[Served]:
    return [Served(ReservationsServicer(inventory), pb_grpc.add_ReservationsServicer_to_server,
                   pb.DESCRIPTOR.services_by_name["Reservations"].full_name)]

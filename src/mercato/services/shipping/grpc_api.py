"""Shipping's gRPC entrypoint (contracts/proto/shipping.proto): the orchestrator's
schedule and cancel, the same handlers and the same field rules as the
``/internal/shipments`` routes; domain errors become statuses through the service's table
(the chassis' gate)."""

from __future__ import annotations

from mercato.chassis.rpc import Served, allow, number, some, text
from mercato.contracts.proto import shipping_pb2 as pb
from mercato.contracts.proto import shipping_pb2_grpc as pb_grpc
from mercato.services.shipping.api import ID_PATTERN
from mercato.services.shipping.domain import Address, Item, Shipment
from mercato.services.shipping.handlers import Schedule, Shipping


class ShipmentsServicer(pb_grpc.ShipmentsServicer):
    def __init__(self, shipping: Shipping) -> None:
        self.shipping = shipping

    @allow("orders")
    async def Schedule(self, request: pb.ScheduleRequest, context) -> pb.Shipment:
        a = request.address
        address = Address(name=text(a.name, "address.name", max_length=200),
                          line1=text(a.line1, "address.line1", max_length=200),
                          city=text(a.city, "address.city"),
                          postal_code=text(a.postal_code, "address.postal_code", max_length=20),
                          country=text(a.country, "address.country",
                                       pattern=r"^[A-Za-z]{2}$").upper())
        items = tuple(Item(text(i.product_id, "items.product_id", pattern=ID_PATTERN),
                           number(i.quantity, "items.quantity", low=1, high=100_000))
                      for i in some(request.items, "items", most=100))
        cmd = Schedule(shipment_id=_ident(request.shipment_id, "shipment_id"),
                       order_id=_ident(request.order_id, "order_id"),
                       customer_id=_ident(request.customer_id, "customer_id"),
                       address=address, items=items)
        return _message(await self.shipping.schedule(cmd))

    @allow("orders")
    async def Cancel(self, request: pb.ShipmentRef, context) -> pb.Shipment:
        sid = _ident(request.shipment_id, "shipment_id")
        shipment = await self.shipping.cancel(sid)
        if shipment is None:  # never seen: now a tombstone
            return pb.Shipment(id=sid, status="cancelled")
        return _message(shipment)


def _ident(value: str, name: str) -> str:
    return text(value, name, pattern=ID_PATTERN)


def _message(shipment: Shipment) -> pb.Shipment:
    d = shipment.as_dict()
    return pb.Shipment(
        id=d["id"], order_id=d["order_id"], status=d["status"],
        tracking_number=d["tracking_number"], address=pb.Address(**d["address"]),
        **{k: d[k] for k in ("created_at", "updated_at", "released_at") if d[k] is not None})


def served(shipping: Shipping) -> list[Served]:
    return [Served(ShipmentsServicer(shipping), pb_grpc.add_ShipmentsServicer_to_server,
                   pb.DESCRIPTOR.services_by_name["Shipments"].full_name)]

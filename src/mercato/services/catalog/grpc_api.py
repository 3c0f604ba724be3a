"""Catalog's gRPC entrypoint (contracts/proto/catalog.proto): the batch lookup orders
makes when an order is placed, the same handler as ``POST /internal/products/lookup``."""

from __future__ import annotations

from mercato.chassis.errors import InvalidInput
from mercato.chassis.rpc import Served, allow, text
from mercato.contracts.proto import catalog_pb2 as pb
from mercato.contracts.proto import catalog_pb2_grpc as pb_grpc
from mercato.services.catalog.handlers import Catalog

MAX_IDS = 500


class ProductsServicer(pb_grpc.ProductsServicer):
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @allow("orders", "inventory", "cart", "gateway")
    async def Lookup(self, request: pb.LookupRequest, context) -> pb.LookupReply:
        if len(request.ids) > MAX_IDS:
            raise InvalidInput(f"ids: at most {MAX_IDS}", field="ids")
        found = await self.catalog.lookup([text(i, "ids") for i in request.ids],
                                          fresh=request.fresh)
        return pb.LookupReply(products={pid: pb.Product(**p.as_dict())
                                        for pid, p in found.items()})


def served(catalog: Catalog) -> list[Served]:
    return [Served(ProductsServicer(catalog), pb_grpc.add_ProductsServicer_to_server,
                   pb.DESCRIPTOR.services_by_name["Products"].full_name)]
